import type { WebClient } from '@slack/web-api';
import type { Actor } from '../../members/member-service.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { secretBlocks, secretMessageText, secretModal, type SecretOccasion } from '../blocks/key-created.js';
import type { SlackDeps } from '../deps.js';

/**
 * Hands a secret (a new key's, or a rolled key's new one) to the admin once:
 * `conversations.open` + `chat.postEphemeral` in their DM. When that fails, the modal
 * (already showing success) is updated to show it instead.
 */
export async function deliverSecret(
  deps: SlackDeps,
  client: WebClient,
  actor: Actor,
  viewId: string,
  key: KeyRecord,
  token: string,
  occasion: SecretOccasion = 'created',
): Promise<'dm' | 'modal'> {
  try {
    const dm = await client.conversations.open({ users: actor.userId });
    const channel = dm.channel?.id;
    if (!channel) throw new Error('conversations.open returned no channel');
    await client.chat.postEphemeral({ channel, user: actor.userId, text: secretMessageText(key, occasion), blocks: secretBlocks(key, token, occasion) });
    return 'dm';
  } catch (e) {
    // The error carries the method's name, never its arguments.
    deps.log.warn({ keyId: key.keyId, err: (e as Error).message }, 'secret DM failed; showing the key in the modal');
    await client.views.update({ view_id: viewId, view: secretModal(key, token, occasion) });
    return 'modal';
  }
}
