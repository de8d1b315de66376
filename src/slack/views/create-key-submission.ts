import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isKeyError, type KeyError } from '../../errors.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { parseCreateModalMeta } from '../blocks/create-modal.js';
import { keyCreatedModal, keyCreatingModal } from '../blocks/key-created.js';
import { deliverSecret } from './deliver-secret.js';
import { noticeModal } from '../blocks/messages.js';
import { truncate } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { refreshHome } from '../home/publish-home.js';
import { actionIds, blockIds, fieldBlocks } from '../ids.js';
import { parseListState, defaultListState } from '../list-state.js';
import { dateValue, interactionActor, multiValues, selectValue, textValue, viewSubmissionPayload, type ViewPayload } from '../payloads.js';
import { EXPIRES_NEVER, EXPIRES_ON_DATE } from '../blocks/create-modal.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** `response_action: errors` for a KeyError: each field on its block, anything else on the name. */
export function inlineErrors(e: KeyError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [field, message] of Object.entries(e.fields)) {
    errors[fieldBlocks[field] ?? blockIds.name] = truncate(message, 150);
  }
  if (Object.keys(errors).length === 0) errors[blockIds.name] = truncate(e.message, 150);
  return errors;
}

/** The Expires select and datepicker as KeyService input (a chosen "On a date" without a date is ''). */
export function expiryFields(view: ViewPayload): { expiresInDays?: number | null; expiresOn?: string } {
  const choice = selectValue(view, blockIds.expires, actionIds.expiresInput);
  if (choice === EXPIRES_NEVER) return { expiresInDays: null };
  if (choice === EXPIRES_ON_DATE) return { expiresOn: dateValue(view, blockIds.expiresOn, actionIds.expiresOnInput) ?? '' };
  const days = Number(choice);
  return Number.isInteger(days) && days > 0 ? { expiresInDays: days } : {};
}

type Outcome = { ok: true; key: KeyRecord; token: string } | { ok: false; error: unknown };

const outcomeOf = (p: Promise<{ key: KeyRecord; token: string }>): Promise<Outcome> =>
  p.then(
    (r) => ({ ok: true as const, ...r }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/**
 * The create modal's submission: admin check and validation answered inline; then the
 * create. When the create returns within the ack budget the ack itself shows success;
 * otherwise the ack shows "Creating…" and the modal is updated after — so a slow database
 * can never make Slack drop the ack while a key (whose secret exists only here) is created.
 */
export function createKeySubmission(deps: SlackDeps) {
  return async ({ ack, body: raw, client }: SubmitArgs): Promise<void> => {
    const started = Date.now();
    const body = viewSubmissionPayload.parse(raw);
    const actor = interactionActor(body);
    const { core } = deps;
    const input = {
      name: textValue(body.view, blockIds.name, actionIds.nameInput) ?? '',
      description: textValue(body.view, blockIds.description, actionIds.descriptionInput) ?? '',
      roles: multiValues(body.view, blockIds.roles, actionIds.rolesInput),
      ...expiryFields(body.view),
    };
    try {
      await core.members.requireAdmin(actor, 'create API keys');
      core.keys.validate(input);
    } catch (e) {
      if (!isKeyError(e)) throw e;
      await ack({ response_action: 'errors', errors: inlineErrors(e) });
      return;
    }
    // The domain checks the caller and the input again in the same call that writes.
    const creating = outcomeOf(core.keys.create(actor, input));
    const budget = Math.max(0, deps.ackBudgetMs - (Date.now() - started));
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      creating,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), budget);
      }),
    ]);
    clearTimeout(timer);
    let outcome: Outcome;
    if (inTime) {
      outcome = inTime;
      if (!outcome.ok) {
        if (!isKeyError(outcome.error)) throw outcome.error;
        await ack({ response_action: 'errors', errors: inlineErrors(outcome.error) });
        return;
      }
      await ack({ response_action: 'update', view: keyCreatedModal(outcome.key) });
    } else {
      await ack({ response_action: 'update', view: keyCreatingModal() });
      outcome = await creating;
      if (!outcome.ok) {
        const text = isKeyError(outcome.error) ? outcome.error.message : 'Something went wrong; no key was created. Try again in a moment.';
        await client.views.update({ view_id: body.view.id, view: noticeModal('API key not created', text) });
        if (!isKeyError(outcome.error)) throw outcome.error;
        return;
      }
      await client.views.update({ view_id: body.view.id, view: keyCreatedModal(outcome.key) });
    }
    const { key, token } = outcome;
    const via = await deliverSecret(deps, client, actor, body.view.id, key, token);
    deps.log.info({ keyId: key.keyId, via }, 'api key secret delivered');
    const meta = parseCreateModalMeta(body.view.private_metadata);
    await refreshHome(deps, client, actor, meta.h ? parseListState(meta.h) : defaultListState);
  };
}
