import { keyModal, parseKeyModalMeta } from '../blocks/key-details.js';
import { revokedReply, staleCaveat } from '../blocks/messages.js';
import { code } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { refreshHome } from '../home/publish-home.js';
import { defaultListState, parseListState } from '../list-state.js';
import { parseAction, type ActionArgs } from './context.js';
import { parseRevokeValue } from '../blocks/revoke-reason.js';
import { blockIds, actionIds } from '../ids.js';
import type { BlockActionPayload } from '../payloads.js';

/** The reason picked in the select beside `Revoke` (message or modal), if any. */
export function pickedReason(body: BlockActionPayload): string | undefined {
  const v = (body.view?.state ?? body.state)?.values[blockIds.keyActions]?.[actionIds.revokeReason];
  return v && v.type === 'static_select' && 'selected_option' in v ? (v.selected_option?.value ?? undefined) : undefined;
}

/**
 * The danger `Revoke` (confirmation message or key modal): revokes through the domain, which
 * checks the caller is an admin, then updates the surface that asked and the caller's Home.
 */
export function revokeKeyAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const { core } = deps;
    let result;
    try {
      const { keyId, reason } = parseRevokeValue(action.value);
      result = await core.keys.revoke(actor, keyId, { reason: pickedReason(body) ?? reason });
    } catch (e) {
      return explainToClicker({ body, client, respond }, expectedFailure(e));
    }
    const { key, changed, staleUpToMs } = result;
    const inModal = body.container.type === 'view' && body.view?.type === 'modal';
    const meta = inModal ? parseKeyModalMeta(body.view?.private_metadata) : undefined;
    if (inModal && body.view) {
      const dependents = await deps.dependents.listForKey(actor, key.keyId);
      const caveat = staleUpToMs > 0 ? ` ${staleCaveat(staleUpToMs)}` : '';
      const notice = changed
        ? staleUpToMs > 0
          ? `:warning: Revoked ${code(key.keyId)}.${caveat} Linked dependents are being told.`
          : `:no_entry: Revoked. ${code(key.keyId)} no longer works; linked dependents are being told.`
        : `:information_source: This key was already revoked. Nothing changed.${caveat}`;
      await client.views.update({
        view_id: body.view.id,
        view: keyModal({ key, catalog: core.roles, dependents, isAdmin: true, meta: meta ?? { k: key.keyId }, now: core.clock.now(), notice }),
      });
    } else if (respond) {
      await respond({ replace_original: true, ...revokedReply(key, changed, staleUpToMs) });
    }
    if (changed) await refreshHome(deps, client, actor, meta?.h ? parseListState(meta.h) : defaultListState);
  };
}
