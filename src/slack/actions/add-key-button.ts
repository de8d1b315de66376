import { createKeyModal } from '../blocks/create-modal.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { fromHome, parseAction, type ActionArgs } from './context.js';

/** `+ API key` (admins): the create modal, remembering the Home state to refresh after. */
export function addKeyAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor } = parseAction(raw);
    try {
      await deps.core.members.requireAdmin(actor, 'create API keys');
      const meta = fromHome(body) && body.view?.private_metadata ? { h: body.view.private_metadata } : {};
      await client.views.open({ trigger_id: body.trigger_id ?? '', view: createKeyModal({ catalog: deps.core.roles, meta }) });
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
