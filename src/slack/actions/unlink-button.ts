import { keyModal, parseKeyModalMeta } from '../blocks/key-details.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { parseAction, type ActionArgs } from './context.js';

/** `Unlink` on a dependent in the key modal (admins): unlinks, then re-renders the modal. */
export function unlinkDependentAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const { core, dependents } = deps;
    try {
      await dependents.unlink(actor, action.value ?? '');
      const meta = parseKeyModalMeta(body.view?.private_metadata);
      if (body.view && meta) {
        const key = await core.keys.show(actor, meta.k);
        const list = await dependents.listForKey(actor, key.keyId);
        await client.views.update({
          view_id: body.view.id,
          view: keyModal({ key, catalog: core.roles, dependents: list, isAdmin: true, meta, now: core.clock.now(), notice: ':white_check_mark: Unlinked.' }),
        });
      }
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
