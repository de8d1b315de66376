import { secretBlocks, secretMessageText } from '../blocks/key-created.js';
import { noticeReply } from '../blocks/messages.js';
import { alreadyDecidedText, denyModal } from '../blocks/requests.js';
import { code, mention } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { updateCopies } from '../request-copies.js';
import { refreshHome } from '../home/publish-home.js';
import { parseListState } from '../list-state.js';
import { fromHome, parseAction, type ActionArgs } from './context.js';

/**
 * `Approve` (admins, checked by the domain): the requester's DM is opened first, so a
 * requester Keywarden cannot reach gets no key whose secret would have nowhere to go; the
 * winner of the decision creates the key and the secret goes once, ephemerally, to the
 * requester; every copy of the request then shows who approved it.
 */
export function approveRequestAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const { requests } = deps.core;
    const say = (text: string) => explainToClicker({ body, client, respond }, text, 'Key request');
    try {
      await deps.core.members.requireAdmin(actor, 'approve key requests');
      const req = await requests.find(actor.communityId, action.value ?? '');
      if (!req) return await say('That request no longer exists.');
      const dm = await client.conversations.open({ users: req.requestedBy }).catch(() => undefined);
      const channel = dm?.channel?.id;
      if (!channel)
        return await say(
          `Keywarden cannot open a direct message with ${mention(req.requestedBy)}, so nothing was approved (the secret would have nowhere to go). Ask them to open Keywarden's Home tab, then approve again.`,
        );
      const result = await requests.approve(actor, req.requestId);
      if (!result.won) {
        await updateCopies(deps, client, req, result.state, result.decision);
        return await say(alreadyDecidedText(result.state, result.decision, req.keyId));
      }
      const { key, token } = result;
      try {
        await client.chat.postEphemeral({ channel, user: req.requestedBy, text: secretMessageText(key), blocks: secretBlocks(key, token) });
      } catch (e) {
        deps.log.warn({ keyId: key.keyId, err: (e as Error).message }, 'approved key: secret DM failed');
        await say(`Approved, but the secret could not be delivered to ${mention(req.requestedBy)}. Roll ${code(key.keyId)} to issue a new secret.`);
      }
      await updateCopies(deps, client, req, 'approved', await requests.decisionOf(req.requestId));
      if (body.response_url && respond)
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          ...noticeReply(`✅ Approved: ${code(key.keyId)} for ${mention(req.requestedBy)}.`),
        });
      if (fromHome(body)) await refreshHome(deps, client, actor, parseListState(body.view?.private_metadata));
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}

/** `Deny` (admins): the reason modal. */
export function denyRequestAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    try {
      await deps.core.members.requireAdmin(actor, 'deny key requests');
      const req = await deps.core.requests.find(actor.communityId, action.value ?? '');
      if (!req) return await explainToClicker({ body, client, respond }, 'That request no longer exists.', 'Key request');
      await client.views.open({ trigger_id: body.trigger_id ?? '', view: denyModal(req) });
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}

/** `Cancel` on one's own pending request (Home): the domain checks it is theirs; copies and Home updated. */
export function cancelRequestAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    try {
      const { request, state, decision, won } = await deps.core.requests.cancel(actor, action.value ?? '');
      await updateCopies(deps, client, request, state, decision);
      if (!won) await explainToClicker({ body, client, respond }, alreadyDecidedText(state, decision, request.keyId), 'Key request');
      if (fromHome(body)) await refreshHome(deps, client, actor, parseListState(body.view?.private_metadata));
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
