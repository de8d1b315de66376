import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { isKeyError } from '../errors.js';
import { noticeModal, noticeReply } from './blocks/messages.js';
import { escapeMessage } from './blocks/text.js';
import type { BlockActionPayload } from './payloads.js';

/**
 * The message of an expected failure (KeyError), escaped for mrkdwn (it may quote what the
 * user typed); anything else is rethrown for `app.error`.
 */
export function expectedFailure(e: unknown): string {
  if (isKeyError(e)) return escapeMessage(e.message);
  throw e;
}

/**
 * Tells the user who clicked why nothing happened, on the surface they clicked: an ephemeral
 * reply where there is a response URL (messages), else a small modal (Home, or pushed on a modal).
 */
export async function explainToClicker(
  ctx: { body: BlockActionPayload; client: WebClient; respond?: RespondFn | undefined },
  text: string,
  title = 'Not allowed',
): Promise<void> {
  const { body, client, respond } = ctx;
  if (body.response_url && respond) {
    await respond({ response_type: 'ephemeral', replace_original: false, ...noticeReply(text) });
    return;
  }
  if (!body.trigger_id) return;
  const view = noticeModal(title, text);
  if (body.container.type === 'view' && body.view?.type === 'modal') {
    await client.views.push({ trigger_id: body.trigger_id, view });
  } else {
    await client.views.open({ trigger_id: body.trigger_id, view });
  }
}
