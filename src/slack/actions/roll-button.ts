import { parseKeyModalMeta } from '../blocks/key-details.js';
import { rollModal } from '../blocks/roll-modal.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { parseAction, type ActionArgs } from './context.js';

/**
 * `Roll` in the key modal and `Roll now` in an expiry reminder (admins): the roll modal,
 * pushed on the key modal or opened from the message. The submission checks again.
 */
export function rollKeyAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const { core } = deps;
    try {
      await core.members.requireAdmin(actor, 'roll API keys');
      const key = await core.keys.show(actor, action.value ?? '');
      const inModal = body.container.type === 'view' && body.view?.type === 'modal';
      const h = inModal ? parseKeyModalMeta(body.view?.private_metadata)?.h : undefined;
      const view = rollModal(key, { k: key.keyId, ...(h ? { h } : {}) });
      if (inModal) await client.views.push({ trigger_id: body.trigger_id ?? '', view });
      else await client.views.open({ trigger_id: body.trigger_id ?? '', view });
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
