import type { KnownBlock, ModalView } from '@slack/types';
import type { KeyRecord } from '../../keys/key-record.js';
import { callbackIds } from '../ids.js';
import { bold, code, escapeMrkdwn, limits, md, plain, truncate } from './text.js';

const vaultAdvice =
  'Store it in your secrets vault now (e.g. HashiCorp Vault, 1Password, AWS Secrets Manager) — Keywarden keeps only a hash and cannot show it again.';

/** The modal that follows a create submission, in each of its states. */
const createdView = (title: string, close: string, blocks: KnownBlock[]): ModalView => ({
  type: 'modal',
  callback_id: callbackIds.keyCreated,
  title: plain(title, limits.viewTitle),
  close: plain(close, limits.viewTitle),
  blocks,
});

/** The modal after a create, while the secret goes to the DM: no secret in it. */
export function keyCreatedModal(key: KeyRecord): ModalView {
  return createdView('API key created', 'Done', [
    { type: 'section', text: md(`:white_check_mark: Created ${bold(truncate(key.name, 64))} (${code(key.keyId)}).`) },
    { type: 'section', text: md('The key is on its way to your direct messages with Keywarden. It is shown *only once*.') },
  ]);
}

/** The ack when the create takes longer than the ack budget; updated once it is done. */
export function keyCreatingModal(): ModalView {
  return createdView('New API key', 'Close', [
    {
      type: 'section',
      text: md(':hourglass_flowing_sand: Creating the key… The key will arrive in your direct messages with Keywarden; it is shown *only once*.'),
    },
  ]);
}

/** Why a secret is shown: a new key, or a rolled key's new secret. */
export type SecretOccasion = 'created' | 'rolled';

const secretTitle = (key: KeyRecord, occasion: SecretOccasion) =>
  occasion === 'rolled'
    ? `The new secret of API key ${bold(truncate(key.name, 64))} (${code(key.keyId)}), same keyId:`
    : `Your new API key ${bold(truncate(key.name, 64))} (${code(key.keyId)}):`;

/** The secret itself, in a code block, with the vault advice. Only for the admin's eyes. */
export function secretBlocks(key: KeyRecord, token: string, occasion: SecretOccasion = 'created'): KnownBlock[] {
  return [
    { type: 'section', text: md(`:key: ${secretTitle(key, occasion)}`) },
    { type: 'section', text: md(`\`\`\`${token}\`\`\``) },
    { type: 'context', elements: [md(`:lock: This is the only time it is shown. ${vaultAdvice}`)] },
  ];
}

/** Fallback text of the DM (notifications show it instead of blocks): no secret. */
export const secretMessageText = (key: KeyRecord, occasion: SecretOccasion = 'created') =>
  `${occasion === 'rolled' ? 'The new secret of API key' : 'Your new API key'} ${escapeMrkdwn(truncate(key.name, 64))} (${key.keyId}) — open Slack to copy it; it is shown only once.`;

/** The modal shows the secret when the DM could not be delivered. */
export function secretModal(key: KeyRecord, token: string, occasion: SecretOccasion = 'created'): ModalView {
  return createdView(occasion === 'rolled' ? 'API key rolled' : 'API key created', 'Done', [
    { type: 'section', text: md(':warning: I could not send the key to your direct messages, so here it is. Copy it before closing this window.') },
    ...secretBlocks(key, token, occasion),
  ]);
}

/** `Collect key`: the requester's approved key, its secret shown once in this window. */
export function collectedModal(key: KeyRecord, token: string): ModalView {
  return {
    ...createdView('Your API key', 'Done', [
      { type: 'section', text: md(':white_check_mark: Your request was approved. Copy the secret before closing this window.') },
      ...secretBlocks(key, token),
    ]),
    callback_id: callbackIds.keyCollected,
  };
}
