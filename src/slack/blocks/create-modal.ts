import type { InputBlock, ModalView, PlainTextOption } from '@slack/types';
import { DEFAULT_EXPIRY_DAYS, EXPIRY_PRESETS } from '../../keys/key-life.js';
import { DESCRIPTION_RULE } from '../../keys/key-service.js';
import type { RoleCatalog } from '../../roles/catalog.js';
import { actionIds, blockIds, callbackIds } from '../ids.js';
import { fitJson, limits, md, plain, truncate } from './text.js';

/** What the create modal remembers: the Home list state to refresh after the create. */
export interface CreateModalMeta {
  /** Home list state JSON, when opened from Home. */
  h?: string;
}

/** Role options, `ic_viewer - Intelligence Center Read-Only`, within Slack's 100 × 75 limits. */
export function roleOptions(catalog: RoleCatalog): PlainTextOption[] {
  return catalog.roles.slice(0, limits.options).map((r) => ({
    text: plain(catalog.display(r.id), limits.optionText),
    value: r.id.slice(0, limits.optionValue),
  }));
}

/** Values of the Expires select: days, `never`, or `date` (the datepicker below decides). */
export const EXPIRES_NEVER = 'never';
export const EXPIRES_ON_DATE = 'date';

const expiresOptions: PlainTextOption[] = [
  ...EXPIRY_PRESETS.map((d) => ({ text: plain(`${d} days`), value: String(d) })),
  { text: plain('Never'), value: EXPIRES_NEVER },
  { text: plain('On a date'), value: EXPIRES_ON_DATE },
];

/** Expires: a select (default 365 days) and a datepicker used when it says "On a date". */
export function expiryBlocks(): InputBlock[] {
  return [
    {
      type: 'input',
      block_id: blockIds.expires,
      label: plain('Expires'),
      hint: plain('Owners are reminded 7 days and 1 day before; at expiry the key stops working and linked dependents are told.'),
      element: {
        type: 'static_select',
        action_id: actionIds.expiresInput,
        options: expiresOptions,
        initial_option: expiresOptions.find((o) => o.value === String(DEFAULT_EXPIRY_DAYS)),
      },
    },
    {
      type: 'input',
      block_id: blockIds.expiresOn,
      optional: true,
      label: plain('Expiry date'),
      hint: plain('Used only when Expires is “On a date”: after today, at most two years out. The key stops at 00:00 UTC that day.'),
      element: { type: 'datepicker', action_id: actionIds.expiresOnInput, placeholder: plain('Pick a date') },
    },
  ];
}

/** The create form: name (prefilled from `/apikey create <name>`), description, roles. */
export function createKeyModal(opts: { catalog: RoleCatalog; name?: string; meta?: CreateModalMeta }): ModalView {
  const name: InputBlock = {
    type: 'input',
    block_id: blockIds.name,
    label: plain('Name'),
    element: {
      type: 'plain_text_input',
      action_id: actionIds.nameInput,
      max_length: 64,
      placeholder: plain('e.g. SOAR playbooks – production'),
      ...(opts.name?.trim() ? { initial_value: truncate(opts.name.trim(), 64) } : {}),
    },
  };
  const description: InputBlock = {
    type: 'input',
    block_id: blockIds.description,
    label: plain('Description'),
    hint: plain(`${DESCRIPTION_RULE} Say what uses the key and who owns it.`),
    element: {
      type: 'plain_text_input',
      action_id: actionIds.descriptionInput,
      multiline: true,
      max_length: 99,
      placeholder: plain('What uses this key, and who to ask about it'),
    },
  };
  const roles: InputBlock = {
    type: 'input',
    block_id: blockIds.roles,
    label: plain('Roles'),
    hint: plain('The key can do exactly what these roles allow.'),
    element: {
      type: 'multi_static_select',
      action_id: actionIds.rolesInput,
      placeholder: plain('Pick one or more roles'),
      options: roleOptions(opts.catalog),
    },
  };
  return {
    type: 'modal',
    callback_id: callbackIds.createKey,
    title: plain('New API key', limits.viewTitle),
    submit: plain('Create', limits.viewTitle),
    close: plain('Cancel', limits.viewTitle),
    private_metadata: fitJson({ ...(opts.meta ?? {}) }, limits.privateMetadata),
    blocks: [
      name,
      description,
      roles,
      ...expiryBlocks(),
      {
        type: 'context',
        elements: [md(':lock: The key is shown *only once*, right after you create it, in a direct message from Keywarden. Have your vault ready.')],
      },
    ],
  };
}

/** Reads the create modal's metadata. */
export function parseCreateModalMeta(text: string | undefined): CreateModalMeta {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as { h?: unknown };
    return typeof v.h === 'string' ? { h: v.h } : {};
  } catch {
    return {};
  }
}
