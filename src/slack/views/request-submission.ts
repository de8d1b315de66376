import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isKeyError } from '../../errors.js';
import { noticeModal } from '../blocks/messages.js';
import type { SlackDeps } from '../deps.js';
import { actionIds, blockIds } from '../ids.js';
import { multiValues, interactionActor, textValue, viewSubmissionPayload } from '../payloads.js';
import { postRequest } from '../request-copies.js';
import { expiryFields, inlineErrors } from './create-key-submission.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The request form: checked like create (inline errors), stored, posted to the approvers. */
export function requestSubmission(deps: SlackDeps) {
  return async ({ ack, body: raw, client }: SubmitArgs): Promise<void> => {
    const body = viewSubmissionPayload.parse(raw);
    const actor = interactionActor(body);
    const input = {
      name: textValue(body.view, blockIds.name, actionIds.nameInput) ?? '',
      description: textValue(body.view, blockIds.description, actionIds.descriptionInput) ?? '',
      roles: multiValues(body.view, blockIds.roles, actionIds.rolesInput),
      ...expiryFields(body.view),
    };
    const why = textValue(body.view, blockIds.why, actionIds.whyInput) ?? '';
    let req;
    try {
      req = await deps.core.requests.submit(actor, input, why);
    } catch (e) {
      if (!isKeyError(e)) throw e;
      await ack(
        e.code === 'invalid_input'
          ? { response_action: 'errors', errors: inlineErrors(e) }
          : { response_action: 'update', view: noticeModal('Not allowed', e.message) },
      );
      return;
    }
    await ack({
      response_action: 'update',
      view: noticeModal(
        'Request sent',
        'Request sent to the admins. You will hear from Keywarden when one of them decides. An approved key comes to you once, in a direct message — or, if Keywarden cannot reach you there, with *Collect key* in its Home tab.',
      ),
    });
    await postRequest(deps, client, req);
  };
}
