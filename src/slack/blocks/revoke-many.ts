import type { KnownBlock, SectionBlock } from '@slack/types';
import { z } from 'zod';
import { lifeStatus, shortDate } from '../../keys/key-life.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { reasonLabel } from '../../keys/revoke-reason.js';
import { REVOKE_MAX } from '../commands/grammar.js';
import { actionIds, blockIds } from '../ids.js';
import { staleCaveat, type Reply } from './messages.js';
import { reasonSelect } from './revoke-reason.js';
import { bold, button, code, confirmDialog, escapeMrkdwn, limits, md, mention, slackDate, truncate } from './text.js';

/** What revoking one key of several came to (each revoked through the domain as if alone). */
export type RevokeOutcome =
  | { keyId: string; kind: 'revoked'; key: KeyRecord; staleUpToMs: number }
  | { keyId: string; kind: 'already_revoked'; key: KeyRecord; staleUpToMs: number }
  /** The domain refused it (not in this workspace, expired…): why, a sentence in mrkdwn. */
  | { keyId: string; kind: 'refused'; message: string }
  /** Something unexpected (the database gone mid-way): nothing is known to have changed. */
  | { keyId: string; kind: 'failed' };

const keyLabel = (key: KeyRecord) => `${bold(truncate(key.name, 64))} (${code(key.keyId)})`;

/** Lines packed into as few sections as fit Slack's section text limit (none is split). */
function sections(lines: string[]): SectionBlock[] {
  const out: SectionBlock[] = [];
  let chunk = '';
  for (const line of lines) {
    if (chunk && chunk.length + 1 + line.length > limits.sectionText) {
      out.push({ type: 'section', text: md(chunk) });
      chunk = '';
    }
    chunk = chunk ? `${chunk}\n${line}` : line;
  }
  if (chunk) out.push({ type: 'section', text: md(chunk) });
  return out;
}

const manyValue = z.object({
  k: z
    .array(z.string().regex(/^[a-z0-9_-]{1,64}$/))
    .min(2)
    .max(REVOKE_MAX),
  r: z.string().max(300).optional(),
});

/**
 * The `Revoke N keys` button's value: every keyId asked for (≤ 50, at most 64 characters
 * each) and the typed reason, shortened if need be so that the whole fits a button value.
 */
export function revokeManyValue(keyIds: readonly string[], reason?: string): string {
  let r = reason;
  let json = JSON.stringify({ k: keyIds, ...(r ? { r } : {}) });
  while (r && json.length > limits.buttonValue) {
    r = [...r].slice(0, -10).join('');
    json = JSON.stringify({ k: keyIds, ...(r ? { r } : {}) });
  }
  return json;
}

/**
 * Reads a `Revoke N keys` value. Anyone can forge one: the shape is checked here (2 to 50
 * distinct keyIds), everything else by the domain, key by key, for the clicker's workspace.
 */
export function parseRevokeManyValue(value: string | undefined): { keyIds: string[]; reason?: string } | undefined {
  try {
    const v = manyValue.parse(JSON.parse(value ?? ''));
    const keyIds = [...new Set(v.k)];
    return keyIds.length === v.k.length ? { keyIds, ...(v.r ? { reason: v.r } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** Why a key found at confirmation time cannot be revoked, or undefined when it can. */
function notRevocable(key: KeyRecord, now: number): string | undefined {
  if (key.status === 'revoked') return `was already revoked${key.revokedBy ? ` by ${mention(key.revokedBy)}` : ''} ${slackDate(key.revokedAt, '')}`;
  if (lifeStatus(key, now) === 'expired') return `already expired${key.expiresAt ? ` on ${shortDate(key.expiresAt)}` : ''}: it no longer works`;
  return undefined;
}

/**
 * `/apikey revoke <keyId> <keyId>…`: ONE ephemeral confirmation listing every key asked for,
 * those it will revoke first, then those it cannot (not in this workspace, already revoked,
 * expired); the danger button (with its confirm dialog) carries them all, and the click
 * reports each again. No button when none can be revoked.
 */
export function revokeManyConfirmReply(opts: { keyIds: readonly string[]; found: readonly KeyRecord[]; now: number; reason?: string }): Reply {
  const byId = new Map(opts.found.map((k) => [k.keyId, k]));
  const revocable = opts.found.filter((k) => !notRevocable(k, opts.now));
  const skipped = opts.keyIds.flatMap((id) => {
    const key = byId.get(id);
    if (!key) return [`• ${code(id)}: no such key in this workspace.`];
    const why = notRevocable(key, opts.now);
    return why ? [`• ${keyLabel(key)} ${why}.`] : [];
  });
  const n = revocable.length;
  const them = n === 1 ? 'it' : 'them';
  const reasonLine = opts.reason ? `\nReason: ${escapeMrkdwn(reasonLabel(opts.reason))}` : '';
  const blocks: KnownBlock[] = [];
  if (n > 0) {
    blocks.push({
      type: 'section',
      text: md(
        `Revoke ${n === 1 ? 'this API key' : `these ${n} API keys`}? Anything using ${them} stops working at once, and linked playbooks and connectors are told. *This cannot be undone.*${reasonLine}`,
      ),
    });
    blocks.push(...sections(revocable.map((k) => `• ${keyLabel(k)}`)));
  } else {
    blocks.push({ type: 'section', text: md('None of these keys can be revoked. Nothing changed.') });
  }
  if (skipped.length) blocks.push(...sections([n > 0 ? '*Not revoked:*' : '*Keys:*', ...skipped]));
  if (n > 0) {
    const label = n === 1 ? 'Revoke 1 key' : `Revoke ${n} keys`;
    blocks.push({
      type: 'actions',
      block_id: blockIds.keyActions,
      elements: [
        button({
          actionId: actionIds.revokeKeys,
          text: label,
          value: revokeManyValue(opts.keyIds, opts.reason),
          style: 'danger',
          confirm: confirmDialog({
            title: n === 1 ? 'Revoke this API key?' : `Revoke ${n} API keys?`,
            text: `The ${n === 1 ? 'key' : `${n} keys`} listed stop${n === 1 ? 's' : ''} working at once and every linked playbook and connector is told. *This cannot be undone.*`,
            confirm: label,
            deny: 'Cancel',
            danger: true,
          }),
        }),
        reasonSelect(opts.reason),
      ],
    });
  }
  return { text: n > 0 ? `Revoke ${n} API key${n === 1 ? '' : 's'}?` : 'Nothing to revoke', blocks: blocks.slice(0, limits.messageBlocks) };
}

/** One line of the result: what happened to one key. */
function outcomeLine(o: RevokeOutcome): string {
  switch (o.kind) {
    case 'revoked':
      return o.staleUpToMs > 0
        ? `• :warning: Revoked ${keyLabel(o.key)}. ${staleCaveat(o.staleUpToMs)} Linked dependents are being told.`
        : `• :no_entry: Revoked ${keyLabel(o.key)}. It no longer works; linked dependents are being told.`;
    case 'already_revoked':
      return `• ${keyLabel(o.key)} was already revoked${o.key.revokedBy ? ` by ${mention(o.key.revokedBy)}` : ''} ${slackDate(o.key.revokedAt, '')}. Nothing changed.`;
    case 'refused':
      return `• ${o.message}`;
    case 'failed':
      return `• :warning: ${code(o.keyId)}: not revoked, something failed on our side. Run the command again for it.`;
  }
}

/** Why the domain refused one key, as a line of the result. */
export const refusedLine = (keyId: string, code_: string, message: string) =>
  code_ === 'not_found' ? `${code(keyId)}: no such key in this workspace. Nothing changed.` : message;

/** The result after the click, to the admin only: a count, then one line per key asked for. */
export function revokeManyResultReply(outcomes: readonly RevokeOutcome[], reason?: string): Reply {
  const revoked = outcomes.filter((o) => o.kind === 'revoked').length;
  const head = `Revoked ${revoked} of ${outcomes.length} keys.${revoked && reason ? ` Reason: ${escapeMrkdwn(truncate(reasonLabel(reason), 200))}.` : ''}`;
  return {
    text: head,
    blocks: [{ type: 'section' as const, text: md(head) }, ...sections(outcomes.map(outcomeLine))].slice(0, limits.messageBlocks),
  };
}
