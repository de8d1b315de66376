import type { KnownBlock } from '@slack/types';
import type { DeliveryRecord } from '../src/dependents/delivery-record.js';
import { reasonLabel } from '../src/keys/revoke-reason.js';
import { bold, code, escapeMrkdwn as esc, mention, safeLink, truncate as clip } from '../src/slack/blocks/text.js';
import type { KeyRecord } from '../src/keys/key-record.js';

/** A Slack message: fallback text (also what notifications and screen readers show) and blocks. */
export interface NoticeMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack date formatting with a plain fallback. */
const when = (d: Date | undefined) => {
  if (!d) return 'just now';
  return `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} at {time_secs}|${d.toISOString()}>`;
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One line per dependent, saying plainly where its webhook stands. */
export function deliveryLine(d: DeliveryRecord): string {
  const name = bold(d.dependentName);
  const tries = plural(d.attempts.length, 'attempt');
  switch (d.state) {
    case 'delivered':
      return `:white_check_mark: ${name}: notified${d.attempts.length > 1 ? ` (after ${tries})` : ''}`;
    case 'failed':
      return `:x: ${name}: *NOT notified* — webhook failed${d.attempts.length ? ` after ${tries}` : ''}; last error: ${esc(clip(d.lastError ?? 'unknown', 200))}`;
    case 'gone':
      return `:wave: ${name}: not notified — ${esc(d.lastError ?? 'the receiver answered 410 Gone')}; it was marked gone`;
    default:
      return `:hourglass_flowing_sand: ${name}: sending${d.attempts.length ? ` (${tries} so far; last error: ${esc(clip(d.lastError ?? 'unknown', 120))})` : ''}`;
  }
}

/** At most this many dependents are listed one per line (Slack caps a section at 3000 chars). */
const MAX_LINES = 25;

/** Slack ids of conversations: shown as a channel mention, anything else as text. */
const conversation = (id: string) => (/^[CGD][A-Z0-9]{2,}$/.test(id) ? `<#${id}>` : code(id));

/**
 * The head of a leaked key's notice (`🚨 Leaked: "<name>" (<keyId>) was found in
 * <url|where> by GitHub secret scanning and revoked automatically at <time>. N dependents
 * are being told.`). Never the token: only what the scanner said about where it was.
 */
export function leakHead(key: KeyRecord, dependents: number): { head: string; text: string } {
  const leak = key.leak!;
  const where =
    leak.source === 'github'
      ? leak.url
        ? safeLink(leak.url)
        : 'a public repository'
      : leak.channel
        ? `a message in ${conversation(leak.channel)}`
        : 'a Slack message';
  const by = leak.source === 'github' ? 'GitHub secret scanning' : 'the Slack leak guard';
  const told = `${plural(dependents, 'dependent')} ${dependents === 1 ? 'is' : 'are'} being told.`;
  const head = `🚨 Leaked: "${esc(key.name)}" (${code(key.keyId)}) was found in ${where} by ${by} and revoked automatically at ${when(key.revokedAt)}. ${told}`;
  const text = `🚨 Leaked: "${esc(key.name)}" (${esc(key.keyId)}) was found by ${by} and revoked automatically. ${told}`;
  return { head, text };
}

/**
 * The revocation notice for the channel and the creator's DM. No secret ever appears:
 * only the key's name and id, who revoked it and when, and the dependents' names.
 */
export function renderNotice(key: KeyRecord, deliveries: DeliveryRecord[]): NoticeMessage {
  const by = key.revokedBy ? mention(key.revokedBy) : 'an admin';
  const expired = key.notification.event === 'expired';
  const leak = !expired && key.leak ? leakHead(key, deliveries.length) : undefined;
  const reason = !expired && key.reason && !key.leak ? ` Reason: ${esc(clip(reasonLabel(key.reason), 200))}.` : '';
  const head =
    leak?.head ??
    (expired
      ? `:hourglass: API key ${bold(key.name)} (${code(key.keyId)}) expired ${when(key.expiresAt)}. It no longer works.`
      : `:no_entry: API key ${bold(key.name)} (${code(key.keyId)}) was revoked by ${by} ${when(key.revokedAt)}.${reason}`);
  const count = (s: DeliveryRecord['state']) => deliveries.filter((d) => d.state === s).length;
  const pending = count('pending');
  const failed = deliveries.filter((d) => d.state === 'failed');
  let summary: string;
  if (deliveries.length === 0) summary = 'No dependents were linked to this key; nothing to notify.';
  else if (pending > 0)
    summary = `Notifying ${plural(deliveries.length, 'dependent')}: ${count('delivered')} notified, ${pending} in progress, ${failed.length} failed, ${count('gone')} gone.`;
  else if (failed.length > 0)
    summary = `:warning: ${failed.length} of ${plural(deliveries.length, 'dependent')} could NOT be notified; they may still be using this key. ${count('delivered')} notified, ${count('gone')} gone.`;
  else summary = `All ${plural(deliveries.length, 'dependent')} handled: ${count('delivered')} notified, ${count('gone')} gone.`;

  // The failures first, so they are never the lines cut off.
  const ordered = [...failed, ...deliveries.filter((d) => d.state !== 'failed')];
  const lines = ordered.slice(0, MAX_LINES).map(deliveryLine);
  if (ordered.length > MAX_LINES) lines.push(`…and ${ordered.length - MAX_LINES} more.`);

  const failureText = failed
    .slice(0, 5)
    .map(
      (d) =>
        ` Webhook to ${esc(d.dependentName)} FAILED${d.attempts.length ? ` after ${plural(d.attempts.length, 'attempt')}` : ''}: ${esc(clip(d.lastError ?? 'unknown', 200))}.`,
    )
    .join('');
  // The fallback text is mrkdwn too (chat.postMessage formats it): escaped like the blocks.
  const what = expired ? 'expired' : `was revoked by ${by}`;
  const text = `${leak ? leak.text : `API key ${esc(key.name)} (${esc(key.keyId)}) ${what}.${reason}`} ${summary.replace(/^:warning: /, '')}${failureText}`;

  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: head } },
    { type: 'section', text: { type: 'mrkdwn', text: summary } },
  ];
  if (lines.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 2900) } });
  return { text: clip(text, 3000), blocks };
}
