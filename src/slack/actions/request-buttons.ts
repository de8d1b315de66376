import { collectedModal, secretBlocks, secretMessageText } from '../blocks/key-created.js';
import { noticeReply } from '../blocks/messages.js';
import { alreadyDecidedText, denyModal } from '../blocks/requests.js';
import { bold, code, mention, slackDate, truncate } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { tellRequester, updateCopies } from '../request-copies.js';
import { refreshHome } from '../home/publish-home.js';
import { parseListState } from '../list-state.js';
import { fromHome, parseAction, type ActionArgs } from './context.js';

/**
 * `Approve` (admins, checked by the domain). When Keywarden can open the requester's DM, the
 * winner of the decision creates the key and its secret goes there once, ephemerally; when it
 * cannot (or showing the secret fails), the approval is recorded and the requester collects
 * the key with `Collect key` in App Home. Every copy of the request then says where it stands.
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
      const channel = (await client.conversations.open({ users: req.requestedBy }).catch(() => undefined))?.channel?.id;
      const result = await requests.approve(actor, req.requestId, { deliver: Boolean(channel) });
      if (result.outcome === 'decided') {
        await updateCopies(deps, client, req);
        return await say(alreadyDecidedText(req, result.status));
      }
      const until = result.status.collectUntil ? ` until ${slackDate(result.status.collectUntil)}` : '';
      let told = `✅ Approved. Keywarden cannot send ${mention(req.requestedBy)} a direct message, so they collect the key with *Collect key* in Keywarden's Home tab${until}.`;
      if (result.outcome === 'issued') {
        const { key, token } = result;
        const shown = await client.chat
          .postEphemeral({ channel: channel!, user: req.requestedBy, text: secretMessageText(key), blocks: secretBlocks(key, token) })
          .then(
            () => true,
            (e: unknown) => {
              deps.log.warn({ keyId: key.keyId, err: (e as Error).message }, 'approved key: secret DM failed; the requester collects it');
              return false;
            },
          );
        if (shown) {
          await requests.delivered(result, 'dm');
          told = `✅ Approved: ${code(key.keyId)} for ${mention(req.requestedBy)}; its secret went to their direct messages, once.`;
        } else {
          await requests.notDelivered(result);
          told = `✅ Approved: ${code(key.keyId)}, but its secret could not be shown to ${mention(req.requestedBy)}. They collect it (a new secret) with *Collect key* in Keywarden's Home tab${until}.`;
          if (await requests.claimNotice(req, 'collect'))
            await tellRequester(
              deps,
              client,
              req.requestedBy,
              `✅ Your request for ${bold(truncate(req.input.name, 64))} was approved. Open Keywarden's Home tab and press *Collect key* to see its secret (once).`,
            );
        }
      }
      await updateCopies(deps, client, req);
      if (body.response_url && respond) await respond({ response_type: 'ephemeral', replace_original: false, ...noticeReply(told) });
      if (fromHome(body)) await refreshHome(deps, client, actor, parseListState(body.view?.private_metadata));
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}

/**
 * `Collect key` (Home, the requester only — checked by the domain): the approved key is
 * created (or, after a hand-out that died, given a new secret) and shown once in a modal.
 */
export function collectKeyAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const { requests } = deps.core;
    let handout;
    try {
      handout = await requests.collect(actor, action.value ?? '');
    } catch (e) {
      return await explainToClicker({ body, client, respond }, expectedFailure(e), 'Collect key');
    }
    try {
      await client.views.open({ trigger_id: body.trigger_id ?? '', view: collectedModal(handout.key, handout.token) });
    } catch (e) {
      // Nothing was shown (an expired trigger, Slack away): the next Collect key gives a new secret.
      deps.log.warn({ keyId: handout.key.keyId, err: (e as Error).message }, 'collected key: the modal could not be opened');
      await requests.notDelivered(handout);
      return;
    }
    await requests.delivered(handout, 'modal');
    await updateCopies(deps, client, handout.request);
    if (fromHome(body)) await refreshHome(deps, client, actor, parseListState(body.view?.private_metadata));
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
      const { request, status, won } = await deps.core.requests.cancel(actor, action.value ?? '');
      await updateCopies(deps, client, request);
      if (!won) await explainToClicker({ body, client, respond }, alreadyDecidedText(request, status), 'Key request');
      if (fromHome(body)) await refreshHome(deps, client, actor, parseListState(body.view?.private_metadata));
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
