import { auditModal, auditReply } from '../blocks/audit.js';
import { loadAuditPage } from '../audit-page.js';
import { parseAuditState } from '../audit-state.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { parseAction, type ActionArgs } from './context.js';

/** `Activity` in the key modal: the key's timeline, pushed on top of it. */
export function keyActivityAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    try {
      const { page, state, keyName } = await loadAuditPage(deps, actor, { k: action.value ?? '' });
      await client.views.push({ trigger_id: body.trigger_id ?? '', view: auditModal(page, state, keyName) });
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}

/** Previous/Next of a timeline, in place: the modal updated, or the ephemeral message replaced. */
export function auditPageAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    try {
      const { page, state, keyName } = await loadAuditPage(deps, actor, parseAuditState(action.value));
      if (body.container.type === 'view' && body.view?.id) {
        await client.views.update({ view_id: body.view.id, view: auditModal(page, state, keyName) });
      } else {
        await respond({ replace_original: true, ...auditReply(page, state, keyName) });
      }
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
