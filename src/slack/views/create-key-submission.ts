import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { isKeyError, type KeyError } from '../../errors.js';
import type { Actor } from '../../members/member-service.js';
import type { KeyRecord } from '../../store/key-repository.js';
import { parseCreateModalMeta } from '../blocks/create-modal.js';
import { keyCreatedModal, secretBlocks, secretMessageText, secretModal } from '../blocks/key-created.js';
import { truncate } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { refreshHome } from '../home/publish-home.js';
import { actionIds, blockIds, fieldBlocks } from '../ids.js';
import { parseListState, defaultListState } from '../list-state.js';
import { interactionActor, multiValues, textValue, viewSubmissionPayload } from '../payloads.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** `response_action: errors` for a KeyError: each field on its block, anything else on the name. */
function inlineErrors(e: KeyError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [field, message] of Object.entries(e.fields)) {
    errors[fieldBlocks[field] ?? blockIds.name] = truncate(message, 150);
  }
  if (Object.keys(errors).length === 0) errors[blockIds.name] = truncate(e.message, 150);
  return errors;
}

/**
 * Hands the secret to its creator once: `conversations.open` + `chat.postEphemeral` in their
 * DM. When that fails, the modal (already showing success) is updated to show it instead.
 */
async function deliverSecret(deps: SlackDeps, client: WebClient, actor: Actor, viewId: string, key: KeyRecord, token: string): Promise<'dm' | 'modal'> {
  try {
    const dm = await client.conversations.open({ users: actor.userId });
    const channel = dm.channel?.id;
    if (!channel) throw new Error('conversations.open returned no channel');
    await client.chat.postEphemeral({ channel, user: actor.userId, text: secretMessageText(key), blocks: secretBlocks(key, token) });
    return 'dm';
  } catch (e) {
    // The error carries the method's name, never its arguments.
    deps.log.warn({ keyId: key.keyId, err: (e as Error).message }, 'secret DM failed; showing the key in the modal');
    await client.views.update({ view_id: viewId, view: secretModal(key, token) });
    return 'modal';
  }
}

/** The create modal's submission: admin check, inline validation, create, secret once. */
export function createKeySubmission(deps: SlackDeps) {
  return async ({ ack, body: raw, client }: SubmitArgs): Promise<void> => {
    const body = viewSubmissionPayload.parse(raw);
    const actor = interactionActor(body);
    const { core } = deps;
    const input = {
      name: textValue(body.view, blockIds.name, actionIds.nameInput) ?? '',
      description: textValue(body.view, blockIds.description, actionIds.descriptionInput) ?? '',
      roles: multiValues(body.view, blockIds.roles, actionIds.rolesInput),
    };
    let created: { key: KeyRecord; token: string };
    try {
      // The domain checks the caller is an admin again, then validates, before writing.
      created = await core.keys.create(actor, input);
    } catch (e) {
      if (!isKeyError(e)) throw e;
      await ack({ response_action: 'errors', errors: inlineErrors(e) });
      return;
    }
    const { key, token } = created;
    await ack({ response_action: 'update', view: keyCreatedModal(key) });
    const via = await deliverSecret(deps, client, actor, body.view.id, key, token);
    deps.log.info({ keyId: key.keyId, via }, 'api key secret delivered');
    const meta = parseCreateModalMeta(body.view.private_metadata);
    await refreshHome(deps, client, actor, meta.h ? parseListState(meta.h) : defaultListState);
  };
}
