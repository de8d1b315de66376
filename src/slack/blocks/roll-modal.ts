import type { ModalView, PlainTextOption } from '@slack/types';
import { DEFAULT_ROLL_OVERLAP, rollOverlapLabels, rollOverlaps, shortDate } from '../../keys/key-life.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { actionIds, blockIds, callbackIds } from '../ids.js';
import { bold, button, code, confirmDialog, fitJson, limits, md, plain, slackDate, truncate } from './text.js';

/** `Roll` / `Roll now` (admins): asks first, then opens the roll modal. */
export function rollButton(key: KeyRecord, text = 'Roll') {
  return button({
    actionId: actionIds.rollKey,
    text,
    value: key.keyId,
    confirm: confirmDialog({
      title: 'Roll this API key?',
      text: `${bold(truncate(key.name, 64))} (${code(key.keyId)}) gets a new secret; its keyId, roles, expiry and dependents stay. Next you choose how long the old secret keeps working.`,
      confirm: 'Continue',
      deny: 'Cancel',
    }),
  });
}

const overlapOptions: PlainTextOption[] = rollOverlaps.map((o) => ({ text: plain(rollOverlapLabels[o]), value: o }));

/** What the roll modal remembers: the key, and the Home state to refresh after. */
export interface RollModalMeta {
  k: string;
  h?: string;
}

/** "Keep the old secret working for": Not at all / 1 hour / 24 hours (default) / 7 days. */
export function rollModal(key: KeyRecord, meta: RollModalMeta): ModalView {
  return {
    type: 'modal',
    callback_id: callbackIds.rollKey,
    title: plain('Roll API key', limits.viewTitle),
    submit: plain('Roll', limits.viewTitle),
    close: plain('Cancel', limits.viewTitle),
    private_metadata: fitJson({ ...meta }, limits.privateMetadata),
    blocks: [
      {
        type: 'section',
        text: md(
          `Roll ${bold(truncate(key.name, 64))} (${code(key.keyId)}): a new secret, shown to you once in your DM with Keywarden. The keyId, name, description, roles, expiry and dependents stay; linked dependents are told.`,
        ),
      },
      {
        type: 'input',
        block_id: blockIds.rollOverlap,
        label: plain('Keep the old secret working for'),
        hint: plain('Long enough for everything that uses it to switch to the new one. Rolling again ends an older secret at once.'),
        element: {
          type: 'static_select',
          action_id: actionIds.rollOverlapInput,
          options: overlapOptions,
          initial_option: overlapOptions.find((o) => o.value === DEFAULT_ROLL_OVERLAP),
        },
      },
    ],
  };
}

export function parseRollModalMeta(text: string | undefined): RollModalMeta | undefined {
  try {
    const v = JSON.parse(text ?? '') as { k?: unknown; h?: unknown };
    return typeof v.k === 'string' ? { k: v.k, ...(typeof v.h === 'string' ? { h: v.h } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** After a roll, while the secret goes to the DM: no secret in it. */
export function keyRolledModal(key: KeyRecord): ModalView {
  const until = key.previousValidUntil;
  const old =
    until && until.getTime() > (key.rolledAt?.getTime() ?? 0)
      ? `The old secret (…${key.previousHint ?? '????'}) keeps working until ${slackDate(until)} (${shortDate(until)}).`
      : `The old secret (…${key.previousHint ?? '????'}) stopped working at once.`;
  return {
    type: 'modal',
    callback_id: callbackIds.keyRolled,
    title: plain('API key rolled', limits.viewTitle),
    close: plain('Done', limits.viewTitle),
    blocks: [
      { type: 'section', text: md(`:arrows_counterclockwise: Rolled ${bold(truncate(key.name, 64))} (${code(key.keyId)}). ${old}`) },
      { type: 'section', text: md('The new secret is on its way to your direct messages with Keywarden. It is shown *only once*.') },
    ],
  };
}
