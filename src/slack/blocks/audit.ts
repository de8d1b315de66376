import type { KnownBlock, ModalView } from '@slack/types';
import { reasonLabel } from '../../keys/revoke-reason.js';
import { encodeCursor, type AuditState } from '../audit-state.js';
import { actionIds, callbackIds } from '../ids.js';
import type { Reply } from './messages.js';
import { bold, button, code, escapeMrkdwn, fitJson, limits, md, mention, plain, safeLink, slackDate, truncate } from './text.js';

/** One event as the audit trail returns it. */
export interface AuditEntry {
  id: string;
  at: Date;
  actor: string;
  onBehalfOf?: string | undefined;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

export interface AuditPageView {
  events: readonly AuditEntry[];
  newer: boolean;
  older: boolean;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Who did it: a person, an admin token with its creator, or Keywarden itself. */
export function actorText(e: Pick<AuditEntry, 'actor' | 'onBehalfOf'>): string {
  const who = /^[UW][A-Z0-9]+$/.test(e.actor) ? mention(e.actor) : code(truncate(e.actor, 80));
  return e.onBehalfOf ? `${who} (for ${mention(e.onBehalfOf)})` : who;
}

function leakText(leak: unknown): string {
  const l = (leak ?? {}) as { source?: unknown; url?: unknown; channel?: unknown; ts?: unknown };
  if (l.source === 'github') return ` — found by GitHub secret scanning${str(l.url) ? ` at ${safeLink(str(l.url)!)}` : ''}`;
  if (l.source === 'slack')
    return ` — posted in Slack${str(l.channel) && /^[CDG][A-Z0-9]+$/.test(str(l.channel)!) ? ` in <#${str(l.channel)}>` : ''}${str(l.ts) ? ` (message ${code(str(l.ts)!)})` : ''}`;
  return '';
}

/** What happened, in words; `withTarget` names the key or user (the workspace view). */
export function describeEvent(e: AuditEntry, withTarget: boolean): string {
  const d = e.details;
  const by = `by ${actorText(e)}`;
  const key = withTarget ? ` ${code(e.target)}${str(d.name) ? ` (${bold(truncate(str(d.name)!, 64))})` : ''}` : '';
  switch (e.action) {
    case 'key.created':
      return `*Created*${key} ${by}${str(d.approvedBy) ? `, approved by ${mention(str(d.approvedBy)!)}` : ''}`;
    case 'key.revoked':
      return `*Revoked*${key} ${by}${str(d.reason) ? ` — reason: ${escapeMrkdwn(truncate(reasonLabel(str(d.reason)!), 200))}` : ''}${leakText(d.leak)}`;
    case 'key.expired':
      return `*Expired*${key}`;
    case 'key.rolled':
      return `*Rolled*${key} ${by}${str(d.previousValidUntil) ? `; the previous secret worked until ${slackDate(new Date(str(d.previousValidUntil)!))}` : ''}`;
    case 'key.reminded':
      return `*Expiry reminder sent*${key}${
        str(d.reminder)
          ? ` (${escapeMrkdwn(
              str(d.reminder)!
                .replace(/^(\d+)d$/, '$1 days')
                .replace(/^1 days$/, '1 day'),
            )} before)`
          : ''
      }`;
    case 'dependent.linked':
      return `*Linked* ${bold(truncate(str(d.name) ?? '?', 100))}${withTarget ? ` to ${code(e.target)}` : ''} ${by}`;
    case 'dependent.unlinked':
      return `*Unlinked* ${bold(truncate(str(d.name) ?? '?', 100))}${withTarget ? ` from ${code(e.target)}` : ''} ${by}`;
    case 'dependent.gone':
      return `*Dependent gone* ${bold(truncate(str(d.name) ?? '?', 100))}${withTarget ? ` of ${code(e.target)}` : ''}`;
    case 'member.added':
      return `*Member added* ${mention(e.target)} as ${escapeMrkdwn(str(d.role) ?? '?')} ${by}`;
    case 'member.role_changed':
      return `*Member changed* ${mention(e.target)} to ${escapeMrkdwn(str(d.role) ?? '?')}${str(d.from) ? ` (was ${escapeMrkdwn(str(d.from)!)})` : ''} ${by}`;
    case 'member.removed':
      return `*Member removed* ${mention(e.target)} ${by}`;
    case 'admin_token.created':
      return `*Admin token created* ${code(str(d.name) ?? e.target)} ${by}`;
    case 'admin_token.revoked':
      return `*Admin token revoked* ${code(str(d.name) ?? e.target)} ${by}`;
    case 'request.approved':
    case 'request.denied':
    case 'request.cancelled':
    case 'request.lapsed':
      return `*Request ${e.action.slice(8)}*${withTarget ? ` for ${code(e.target)}` : ''}${str(d.requestedBy) ? ` (asked by ${mention(str(d.requestedBy)!)})` : ''} ${by}${str(d.reason) ? ` — ${escapeMrkdwn(truncate(str(d.reason)!, 200))}` : ''}`;
    case 'request.collected':
      return `*Key received*${withTarget ? ` ${code(e.target)}` : ''} ${by} ${d.via === 'dm' ? 'by DM' : 'with Collect key'}${d.reissued ? ' (a new secret: the first hand-out died before showing it)' : ''}`;
    default:
      return `${code(e.action)} ${code(e.target)} ${by}`;
  }
}

/** The heading of a page: a key's activity, or the workspace's (of one user). */
export function auditTitle(state: AuditState, keyName?: string): string {
  if (state.k) return `*Activity of* ${code(state.k)}${keyName ? ` ${bold(truncate(keyName, 64))}` : ''}`;
  return state.u ? `*Workspace activity* involving ${mention(state.u)}` : '*Workspace activity*';
}

/** Events newest first (10 at most), each with when; Previous (newer) and Next (older). */
export function auditBlocks(page: AuditPageView, state: AuditState, keyName?: string): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'section', text: md(auditTitle(state, keyName)) }];
  if (page.events.length === 0) blocks.push({ type: 'context', elements: [md('No activity recorded.')] });
  for (const e of page.events) {
    blocks.push({ type: 'section', text: md(`${slackDate(e.at)} · ${describeEvent(e, !state.k)}`) });
  }
  const first = page.events[0];
  const last = page.events[page.events.length - 1];
  const base = { ...(state.k ? { k: state.k } : {}), ...(state.u ? { u: state.u } : {}) };
  const paging = [
    ...(page.newer && first
      ? [button({ actionId: actionIds.auditPrev, text: 'Previous', value: fitJson({ ...base, a: encodeCursor(first) }, limits.buttonValue) })]
      : []),
    ...(page.older && last
      ? [button({ actionId: actionIds.auditNext, text: 'Next', value: fitJson({ ...base, b: encodeCursor(last) }, limits.buttonValue) })]
      : []),
  ];
  if (paging.length) blocks.push({ type: 'actions', elements: paging });
  return blocks.slice(0, limits.messageBlocks);
}

export const auditText = (state: AuditState) => (state.k ? `Activity of ${state.k}` : 'Workspace activity');

/** The ephemeral reply of `/apikey audit …`. */
export const auditReply = (page: AuditPageView, state: AuditState, keyName?: string): Reply => ({
  text: auditText(state),
  blocks: auditBlocks(page, state, keyName),
});

/** The `Activity` modal pushed from the key modal (paged in place). */
export function auditModal(page: AuditPageView, state: AuditState, keyName?: string): ModalView {
  return {
    type: 'modal',
    callback_id: callbackIds.audit,
    title: plain('Activity', limits.viewTitle),
    close: plain('Back', limits.viewTitle),
    private_metadata: fitJson({ ...state }, limits.privateMetadata),
    blocks: auditBlocks(page, state, keyName),
  };
}
