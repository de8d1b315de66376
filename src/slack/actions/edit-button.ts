import { keyModal } from '../blocks/key-details.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { fromHome, parseAction, type ActionArgs } from './context.js';

/** `Edit` (admins): opens the key modal with details, dependents and `Revoke`. */
export function editKeyAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const { core } = deps;
    try {
      await core.members.requireAdmin(actor, 'edit API keys');
      const key = await core.keys.show(actor, action.value ?? '');
      const dependents = await deps.dependents.listForKey(actor, key.keyId);
      const meta = { k: key.keyId, ...(fromHome(body) && body.view?.private_metadata ? { h: body.view.private_metadata } : {}) };
      await client.views.open({
        trigger_id: body.trigger_id ?? '',
        view: keyModal({ key, catalog: core.roles, dependents, isAdmin: true, meta, now: core.clock.now() }),
      });
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
