import type { Button, ConfirmationDialog, MrkdwnElement, PlainTextElement } from '@slack/types';

/** Block Kit limits this app relies on (Slack's published limits; docs/architecture.md "Slack facts"). */
export const limits = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  field: 2000,
  fields: 10,
  header: 150,
  buttonText: 75,
  buttonValue: 2000,
  viewTitle: 24,
  optionText: 75,
  optionValue: 75,
  options: 100,
  privateMetadata: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  contextElements: 10,
} as const;

/**
 * Shortens to at most `max` UTF-16 units, never splitting a surrogate pair, ending in `…`
 * when cut. Slack counts characters; UTF-16 units are never fewer, so this stays within.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/** Escapes the three characters mrkdwn treats as control (`<@U…>`, `<!channel>`, links). */
export const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Escapes a sentence that quotes user input (an error message, a usage problem) while
 * keeping the user mentions it was written with (`<@U…>`): nothing else in it may become
 * a broadcast, a mention or a link.
 */
export const escapeMessage = (s: string) =>
  s
    .split(/(<@[UW][A-Z0-9]+>)/)
    .map((part, i) => (i % 2 ? part : escapeMrkdwn(part)))
    .join('');

/** User text inside an inline code span: no backticks can close it early. */
export const code = (s: string) => `\`${escapeMrkdwn(s.replace(/`/g, "'"))}\``;

/** User text in bold, escaped; `*` and `_` inside would break the formatting, so they are kept plain. */
export const bold = (s: string) => `*${escapeMrkdwn(s).replace(/\*/g, '∗')}*`;

export const plain = (text: string, max: number = limits.sectionText): PlainTextElement => ({
  type: 'plain_text',
  text: truncate(text || ' ', max),
  emoji: true,
});

export const md = (text: string, max: number = limits.sectionText): MrkdwnElement => ({
  type: 'mrkdwn',
  text: truncate(text || ' ', max),
});

/** A Slack date token: rendered in the reader's time zone, with an ISO fallback. */
export function slackDate(d: Date | undefined, empty = 'never'): string {
  if (!d) return empty;
  const seconds = Math.floor(d.getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${d.toISOString()}>`;
}

export const mention = (userId: string) => (/^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId));

/** A button, with text and value cut to Slack's limits. */
export function button(opts: { actionId: string; text: string; value?: string; style?: 'primary' | 'danger'; confirm?: ConfirmationDialog }): Button {
  return {
    type: 'button',
    action_id: opts.actionId,
    text: plain(opts.text, limits.buttonText),
    ...(opts.value === undefined ? {} : { value: opts.value.slice(0, limits.buttonValue) }),
    ...(opts.style ? { style: opts.style } : {}),
    ...(opts.confirm ? { confirm: opts.confirm } : {}),
  };
}

/** A confirm dialog, every field cut to its limit. */
export function confirmDialog(opts: { title: string; text: string; confirm: string; deny?: string; danger?: boolean }): ConfirmationDialog {
  return {
    title: plain(opts.title, limits.confirmTitle),
    text: md(opts.text, limits.confirmText),
    confirm: plain(opts.confirm, limits.confirmButton),
    deny: plain(opts.deny ?? 'Cancel', limits.confirmButton),
    ...(opts.danger ? { style: 'danger' as const } : {}),
  };
}

/**
 * JSON for `private_metadata` or a button value, guaranteed to fit `max`: when too long,
 * the longest string fields are shortened until it fits (search text, never ids).
 */
export function fitJson(value: Record<string, unknown>, max: number): string {
  let json = JSON.stringify(value);
  if (json.length <= max) return json;
  const copy: Record<string, unknown> = { ...value };
  for (const key of ['q', 'name']) {
    const v = copy[key];
    if (typeof v !== 'string') continue;
    const excess = json.length - max;
    copy[key] = v.slice(0, Math.max(0, v.length - excess - 8));
    json = JSON.stringify(copy);
    if (json.length <= max) return json;
  }
  return json.length <= max ? json : '{}';
}

/**
 * A mrkdwn link to a URL that came from outside (a scanner's report): only http(s), the
 * characters that would end or split Slack's `<url|label>` percent-encoded, `&` escaped, and
 * the label (host and path) escaped and cut. Anything else is shown as escaped code, unlinked.
 */
export function safeLink(url: string, maxLabel = 80): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return code(truncate(url, maxLabel));
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return code(truncate(url, maxLabel));
  const href = u.toString().replace(/&/g, '&amp;').replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E');
  const label = escapeMrkdwn(truncate(`${u.host}${u.pathname === '/' ? '' : u.pathname}`, maxLabel)).replace(/\|/g, '¦');
  return `<${href}|${label}>`;
}
