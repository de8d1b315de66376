import type { InputBlock, ModalView, PlainTextOption } from '@slack/types';
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
      { type: 'context', elements: [md(':lock: The key is shown *only once*, right after you create it, in a direct message from Keywarden. Have your vault ready.')] },
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
