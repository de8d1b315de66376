import type { KnownBlock, ModalView, SectionBlock } from '@slack/types';
import { expiryText, lifeStatus } from '../../keys/key-life.js';
import type { RoleCatalog } from '../../roles/catalog.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { actionIds, blockIds, callbackIds } from '../ids.js';
import { dependentKindLabel, type DependentView } from './dependent.js';
import { statusBadge } from './key-list.js';
import { rollButton } from './roll-modal.js';
import { reasonSelect, revokeValue } from './revoke-reason.js';
import { reasonLabel } from '../../keys/revoke-reason.js';
import { bold, button, code, confirmDialog, escapeMrkdwn, fitJson, limits, md, mention, plain, slackDate, truncate } from './text.js';

/** The danger `Revoke` button, with a confirm dialog that says it cannot be undone. */
export function revokeButton(key: KeyRecord, reason?: string) {
  return button({
    actionId: actionIds.revokeKey,
    text: 'Revoke',
    value: revokeValue(key.keyId, reason),
    style: 'danger',
    confirm: confirmDialog({
      title: 'Revoke this API key?',
      text: `${bold(truncate(key.name, 64))} (${code(key.keyId)}) stops working at once and every linked playbook and connector is told. *This cannot be undone.*`,
      confirm: 'Revoke',
      deny: 'Cancel',
      danger: true,
    }),
  });
}

/** Fields of a key: everything but the secret (the hint is its last 4 characters). */
export function keyFactsBlocks(key: KeyRecord, catalog: RoleCatalog, now: number): KnownBlock[] {
  const facts: SectionBlock = {
    type: 'section',
    fields: [
      md(`*Key ID*\n${code(key.keyId)}`, limits.field),
      md(`*Status*\n${statusBadge(lifeStatus(key, now))}`, limits.field),
      md(`*Expiry*\n${expiryText(key, now)}`, limits.field),
      ...(key.status === 'active' && key.previousValidUntil && key.previousValidUntil.getTime() > now
        ? [md(`*Rolled*\nPrevious secret valid until ${slackDate(key.previousValidUntil)} (…${escapeMrkdwn(key.previousHint ?? '')})`, limits.field)]
        : []),
      md(`*Created by*\n${mention(key.createdBy)}`, limits.field),
      md(`*Created*\n${slackDate(key.createdAt)}`, limits.field),
      md(`*Last used*\n${slackDate(key.lastUsedAt)}`, limits.field),
      md(`*Token ends in*\n${code(`…${key.hint}`)}`, limits.field),
      ...(key.status === 'revoked'
        ? [
            md(
              `*Revoked*\n${slackDate(key.revokedAt, '—')}${key.revokedBy ? ` by ${mention(key.revokedBy)}` : ''}${key.reason ? `\nReason: ${escapeMrkdwn(truncate(reasonLabel(key.reason), 200))}` : ''}`,
              limits.field,
            ),
          ]
        : []),
    ],
  };
  const roles = key.roles.map((r) => `• ${escapeMrkdwn(catalog.display(r))}`).join('\n') || '_none_';
  return [
    { type: 'header', text: plain(key.name, limits.header) },
    { type: 'section', text: md(escapeMrkdwn(key.description)) },
    facts,
    { type: 'section', text: md(`*Roles*\n${roles}`) },
  ];
}

/**
 * Dependents with `Unlink` (admins, active ones); at most `max` rows so a modal stays
 * under 100 blocks and a message under 50.
 */
export function dependentBlocks(dependents: readonly DependentView[], isAdmin: boolean, max: number): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'section', text: md(`*Dependents* (${dependents.length})`) }];
  if (dependents.length === 0) {
    blocks.push({
      type: 'context',
      elements: [
        md('No playbook or connector is linked. Admins link one with `/apikey link <keyId> playbook|cti <name> <url>`; it is told when the key is revoked.'),
      ],
    });
    return blocks;
  }
  for (const d of dependents.slice(0, max)) {
    let host = d.webhookUrl;
    try {
      host = new URL(d.webhookUrl).host;
    } catch {
      // keep the raw URL text
    }
    const section: SectionBlock = {
      type: 'section',
      text: md(
        `${bold(truncate(d.name, 100))} · ${dependentKindLabel(d.kind)} · ${code(truncate(host, 200))}${d.status === 'active' ? '' : ` · _${escapeMrkdwn(d.status)}_`}`,
      ),
    };
    if (isAdmin && d.status === 'active') {
      section.accessory = button({
        actionId: actionIds.unlinkDependent,
        text: 'Unlink',
        value: d.dependentId,
        confirm: confirmDialog({
          title: 'Unlink this dependent?',
          text: `${bold(truncate(d.name, 100))} will no longer be told when this key is revoked.`,
          confirm: 'Unlink',
        }),
      });
    }
    blocks.push(section);
  }
  if (dependents.length > max) blocks.push({ type: 'context', elements: [md(`…and ${dependents.length - max} more.`)] });
  return blocks;
}

/** What the key modal remembers: the key, and the Home state to refresh after a change. */
export interface KeyModalMeta {
  k: string;
  /** The Home list state when the modal was opened from Home (JSON of ListState). */
  h?: string;
}

export interface KeyModalOptions {
  key: KeyRecord;
  catalog: RoleCatalog;
  dependents: readonly DependentView[];
  isAdmin: boolean;
  meta: KeyModalMeta;
  /** The domain clock's now (ms). */
  now: number;
  /** A line on top, e.g. "Revoked." or "Already revoked". */
  notice?: string;
}

/** The key modal behind `Edit`: details, dependents, and `Revoke` for an active key. */
export function keyModal(opts: KeyModalOptions): ModalView {
  const { key, isAdmin } = opts;
  const blocks: KnownBlock[] = [];
  if (opts.notice) blocks.push({ type: 'section', text: md(opts.notice) });
  blocks.push(...keyFactsBlocks(key, opts.catalog, opts.now), { type: 'divider' });
  blocks.push(...dependentBlocks(opts.dependents, isAdmin, 80));
  if (isAdmin) {
    const active = lifeStatus(key, opts.now) === 'active';
    const activity = button({ actionId: actionIds.keyActivity, text: 'Activity', value: key.keyId });
    blocks.push(
      { type: 'divider' },
      { type: 'actions', block_id: blockIds.keyActions, elements: active ? [rollButton(key), revokeButton(key), reasonSelect(), activity] : [activity] },
    );
  }
  return {
    type: 'modal',
    callback_id: callbackIds.keyDetails,
    title: plain('API key', limits.viewTitle),
    close: plain('Close', limits.viewTitle),
    private_metadata: fitJson({ ...opts.meta }, limits.privateMetadata),
    blocks: blocks.slice(0, limits.viewBlocks),
  };
}

/** Reads a key modal's metadata; undefined when it is not one. */
export function parseKeyModalMeta(text: string | undefined): KeyModalMeta | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as { k?: unknown; h?: unknown };
    if (typeof v.k !== 'string') return undefined;
    return { k: v.k, ...(typeof v.h === 'string' ? { h: v.h } : {}) };
  } catch {
    return undefined;
  }
}
