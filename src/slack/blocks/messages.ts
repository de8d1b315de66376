import type { KnownBlock, ModalView } from '@slack/types';
import type { Member } from '../../members/member-service.js';
import { lifeStatus, shortDate } from '../../keys/key-life.js';
import type { RoleCatalog } from '../../roles/catalog.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { usage, type UsageTopic } from '../commands/grammar.js';
import { actionIds, blockIds, callbackIds } from '../ids.js';
import { dependentBlocks, keyFactsBlocks, revokeButton } from './key-details.js';
import { reasonSelect } from './revoke-reason.js';
import { reasonLabel } from '../../keys/revoke-reason.js';
import type { DependentView } from './dependent.js';
import { bold, button, code, escapeMessage, escapeMrkdwn, limits, md, mention, plain, slackDate, truncate } from './text.js';

/** A reply: text (always) and blocks (optional). */
export interface Reply {
  text: string;
  blocks?: KnownBlock[];
}

/** The whole usage, for `help` and an empty `/apikey`. */
export function helpReply(): Reply {
  const lines = (Object.keys(usage) as UsageTopic[]).map((t) => `• ${usage[t]}`);
  return {
    text: 'Keywarden /apikey usage',
    blocks: [
      { type: 'section', text: md('*Keywarden* manages this workspace’s API keys. Every secret is shown once; revoking is final.') },
      { type: 'section', text: md(lines.join('\n')) },
      { type: 'context', elements: [md('The *Keywarden* app’s Home tab has the same list with search and filters.')] },
    ],
  };
}

/** A mistake, and the usage line that fits. */
export function usageReply(topic: UsageTopic | 'all', rawProblem: string): Reply {
  // The problem may quote what was typed.
  const problem = escapeMessage(rawProblem);
  const lines = topic === 'all' ? (Object.keys(usage) as UsageTopic[]).map((t) => `• ${usage[t]}`).join('\n') : `Usage: ${usage[topic]}`;
  return { text: `${problem} ${topic === 'all' ? '' : usage[topic]}`.trim(), blocks: [{ type: 'section', text: md(`${problem}\n${lines}`) }] };
}

/** One line, e.g. an explanation of why something was refused. */
export const noticeReply = (text: string): Reply => ({ text: truncate(text, limits.sectionText), blocks: [{ type: 'section', text: md(text) }] });

/** A small modal carrying one explanation, for surfaces without a response URL (Home, modals). */
export function noticeModal(title: string, text: string): ModalView {
  return {
    type: 'modal',
    callback_id: callbackIds.notice,
    title: plain(title, limits.viewTitle),
    close: plain('OK', limits.viewTitle),
    blocks: [{ type: 'section', text: md(text) }],
  };
}

/** `/apikey show`: the details, and `Edit` for admins. */
export function showReply(key: KeyRecord, catalog: RoleCatalog, isAdmin: boolean, dependents: readonly DependentView[], now: number): Reply {
  const blocks: KnownBlock[] = [...keyFactsBlocks(key, catalog, now), ...dependentBlocks(dependents, false, 30)];
  if (isAdmin)
    blocks.push({ type: 'actions', block_id: blockIds.keyActions, elements: [button({ actionId: actionIds.editKey, text: 'Edit', value: key.keyId })] });
  return { text: `API key ${escapeMrkdwn(truncate(key.name, 64))} (${key.keyId})`, blocks: blocks.slice(0, limits.messageBlocks) };
}

/** `/apikey revoke`: an ephemeral confirmation with the danger button. */
export function revokeConfirmReply(key: KeyRecord, now: number, reason?: string): Reply {
  if (key.status === 'revoked') return revokedReply(key, false);
  if (lifeStatus(key, now) === 'expired') {
    const text = `${bold(truncate(key.name, 64))} (${code(key.keyId)}) already expired on ${shortDate(key.expiresAt!)}: it no longer works and its dependents were told. Nothing to revoke.`;
    return { text: `${key.keyId} already expired`, blocks: [{ type: 'section', text: md(text) }] };
  }
  return {
    text: `Revoke ${escapeMrkdwn(truncate(key.name, 64))} (${key.keyId})?`,
    blocks: [
      {
        type: 'section',
        text: md(
          `Revoke ${bold(truncate(key.name, 64))} (${code(key.keyId)})? Anything using it stops working at once, and linked playbooks and connectors are told. *This cannot be undone.*${reason ? `\nReason: ${escapeMrkdwn(reasonLabel(reason))}` : ''}`,
        ),
      },
      // A typed free-text reason rides in the button's value; the select may pick a preset instead.
      { type: 'actions', block_id: blockIds.keyActions, elements: [revokeButton(key, reason), reasonSelect(reason)] },
    ],
  };
}

/** "30 s", "10 min": how long other servers may still accept a key. */
export const staleFor = (ms: number) => (ms < 120_000 ? `${Math.ceil(ms / 1000)} s` : `${Math.ceil(ms / 60_000)} min`);

/**
 * What to add when the verifiers could not be told of a revocation (`staleUpToMs` > 0):
 * other servers may go on accepting the key from their caches until those expire.
 */
export const staleCaveat = (staleUpToMs: number) =>
  `Other servers may accept it for up to ${staleFor(staleUpToMs)} more: their caches could not be told (retrying).`;

/**
 * After a revoke: done, or already revoked (a second click). Says "no longer works" only
 * when every verifier was told (`staleUpToMs` 0); never more than is true.
 */
export function revokedReply(key: KeyRecord, changed: boolean, staleUpToMs = 0): Reply {
  const by = key.revokedBy ? ` by ${mention(key.revokedBy)}` : '';
  const name = `${bold(truncate(key.name, 64))} (${code(key.keyId)})`;
  const caveat = staleUpToMs > 0 ? ` ${staleCaveat(staleUpToMs)}` : '';
  const why = key.reason ? ` Reason: ${escapeMrkdwn(truncate(reasonLabel(key.reason), 200))}.` : '';
  const text = changed
    ? staleUpToMs > 0
      ? `:warning: Revoked ${name}.${caveat} Linked dependents are being told.${why}`
      : `:no_entry: Revoked ${name}. It no longer works; linked dependents are being told.${why}`
    : `${name} was already revoked${by} ${slackDate(key.revokedAt, '')}.${why} Nothing changed.${caveat}`;
  const fallback = changed ? `Revoked ${key.keyId}` : `${key.keyId} was already revoked`;
  return {
    text: staleUpToMs > 0 ? `${fallback}; other servers may accept it for up to ${staleFor(staleUpToMs)} more` : fallback,
    blocks: [{ type: 'section', text: md(text) }],
  };
}

/** `/apikey members list`. */
export function membersReply(members: readonly Member[]): Reply {
  const line = (m: Member) => `• ${mention(m.slackUserId)} — ${m.role}${m.platformIdentity ? ` (${escapeMrkdwn(m.platformIdentity)})` : ''}`;
  const admins = members.filter((m) => m.role === 'admin');
  const viewers = members.filter((m) => m.role !== 'admin');
  const chunk = (title: string, ms: Member[]) => md(`*${title}* (${ms.length})\n${ms.map(line).join('\n') || '_none_'}`);
  return {
    text: `${members.length} Keywarden members`,
    blocks: [
      { type: 'section', text: chunk('Admins', admins) },
      { type: 'section', text: chunk('Viewers', viewers) },
      {
        type: 'context',
        elements: [
          md(
            'Admins list, create and revoke keys and manage members; viewers list and show. Change with `/apikey members add @user admin|viewer` or `remove @user`.',
          ),
        ],
      },
    ],
  };
}
