import type { KnownBlock } from '@slack/types';
import { expiryText, REMINDERS, type ReminderId } from '../src/keys/key-life.js';
import { rollButton } from '../src/slack/blocks/roll-modal.js';
import { bold, code, escapeMrkdwn as esc, md, mention } from '../src/slack/blocks/text.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import { blockIds } from '../src/slack/ids.js';
import type { NoticeMessage } from './notice.js';

const label: Record<ReminderId, string> = { '7d': '7 days', '1d': '1 day' };
export const reminderLabel = (r: ReminderId) => label[r];
export const reminderIds = REMINDERS.map((r) => r.id);

/**
 * The reminder before a key expires, for its creator's DM and the notify channel: what the
 * key is, when it stops, and what to do. Never the secret.
 */
export function renderReminder(key: KeyRecord, reminder: ReminderId, now: number): NoticeMessage {
  const when = expiryText(key, now);
  const head = `:alarm_clock: API key ${bold(key.name)} (${code(key.keyId)}) expires in about ${label[reminder]}. ${when}.`;
  const roles = key.roles.map(code).join(', ') || '_none_';
  const blocks: KnownBlock[] = [
    { type: 'section', text: md(head) },
    {
      type: 'section',
      fields: [md(`*Key ID*\n${code(key.keyId)}`), md(`*Created by*\n${mention(key.createdBy)}`), md(`*Roles*\n${roles}`), md(`*Expiry*\n${when}`)],
    },
    {
      type: 'context',
      elements: [
        md('When it expires it stops working and every linked playbook and connector is told. An admin can roll it (a new secret, same keyId) before then.'),
      ],
    },
    // Anyone in the channel sees the button; the click is checked on the server (admins only).
    { type: 'actions', block_id: blockIds.keyActions, elements: [rollButton(key, 'Roll now')] },
  ];
  return { text: `API key ${esc(key.name)} (${esc(key.keyId)}) expires in about ${label[reminder]}: ${when}.`, blocks };
}
