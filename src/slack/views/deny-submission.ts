import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isKeyError } from '../../errors.js';
import { noticeModal } from '../blocks/messages.js';
import { alreadyDecidedText } from '../blocks/requests.js';
import { bold, escapeMrkdwn, mention, truncate } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { actionIds, blockIds } from '../ids.js';
import { interactionActor, textValue, viewSubmissionPayload } from '../payloads.js';
import { tellRequester, updateCopies } from '../request-copies.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

const requestIdOf = (meta: string): string => {
  try {
    const v = JSON.parse(meta) as { r?: unknown };
    return typeof v.r === 'string' ? v.r : '';
  } catch {
    return '';
  }
};

/** The Deny modal: the domain decides (admins only); the requester is told; every copy updated. */
export function denySubmission(deps: SlackDeps) {
  return async ({ ack, body: raw, client }: SubmitArgs): Promise<void> => {
    const body = viewSubmissionPayload.parse(raw);
    const actor = interactionActor(body);
    const reason = textValue(body.view, blockIds.denyReason, actionIds.denyReasonInput) ?? '';
    let result;
    try {
      result = await deps.core.requests.deny(actor, requestIdOf(body.view.private_metadata), reason);
    } catch (e) {
      if (!isKeyError(e)) throw e;
      await ack(
        e.code === 'invalid_input'
          ? { response_action: 'errors', errors: { [blockIds.denyReason]: truncate(e.message, 150) } }
          : { response_action: 'update', view: noticeModal('Not allowed', escapeMrkdwn(e.message)) },
      );
      return;
    }
    const { request: req, status, won } = result;
    const decision = status.decision;
    await ack({
      response_action: 'update',
      view: noticeModal('Key request', won ? 'Denied. The requester has been told.' : alreadyDecidedText(req, status)),
    });
    await updateCopies(deps, client, req);
    if (won)
      await tellRequester(
        deps,
        client,
        req.requestedBy,
        `⛔ Your request for ${bold(truncate(req.input.name, 64))} was denied by ${mention(actor.userId)}: ${escapeMrkdwn(truncate(decision?.reason ?? '', 500))}`,
      );
  };
}
