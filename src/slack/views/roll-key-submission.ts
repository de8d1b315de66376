import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isKeyError, KeyError } from '../../errors.js';
import { lifeStatus, rollOverlaps, type RollOverlap } from '../../keys/key-life.js';
import { noticeModal } from '../blocks/messages.js';
import { keyRolledModal, parseRollModalMeta } from '../blocks/roll-modal.js';
import { truncate } from '../blocks/text.js';
import type { SlackDeps } from '../deps.js';
import { refreshHome } from '../home/publish-home.js';
import { actionIds, blockIds } from '../ids.js';
import { defaultListState, parseListState } from '../list-state.js';
import { interactionActor, selectValue, viewSubmissionPayload } from '../payloads.js';
import { deliverSecret } from './deliver-secret.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * The roll modal's submission: the caller, the overlap and the key's status are checked
 * inline; then the ack shows "Rolling…", the domain rolls (checking all again), the modal
 * says so (no secret), and the new secret goes to the admin once, by the same DM path as a
 * new key's.
 */
export function rollKeySubmission(deps: SlackDeps) {
  return async ({ ack, body: raw, client }: SubmitArgs): Promise<void> => {
    const body = viewSubmissionPayload.parse(raw);
    const actor = interactionActor(body);
    const meta = parseRollModalMeta(body.view.private_metadata);
    const overlap = selectValue(body.view, blockIds.rollOverlap, actionIds.rollOverlapInput);
    try {
      // Answered inline while the modal is still open; the roll checks all of it again.
      await deps.core.members.requireAdmin(actor, 'roll API keys');
      const key = await deps.core.keys.show(actor, meta?.k ?? '');
      if (!rollOverlaps.includes(overlap as RollOverlap)) throw new KeyError('invalid_input', 'Pick how long the old secret keeps working.');
      const status = lifeStatus(key, deps.core.clock.now());
      if (status !== 'active') throw new KeyError('invalid_input', `This key is ${status}: only an active key can be rolled.`);
    } catch (e) {
      if (!isKeyError(e)) throw e;
      await ack({ response_action: 'errors', errors: { [blockIds.rollOverlap]: truncate(e.message, 150) } });
      return;
    }
    // The roll waits for every verifier to be told: never let that hold up the ack.
    await ack({
      response_action: 'update',
      view: noticeModal(
        'Roll API key',
        ':hourglass_flowing_sand: Rolling… The new secret will arrive in your direct messages with Keywarden; it is shown *only once*.',
      ),
    });
    let result;
    try {
      result = await deps.core.keys.roll(actor, meta?.k ?? '', overlap);
    } catch (e) {
      await client.views.update({
        view_id: body.view.id,
        view: noticeModal('Not rolled', isKeyError(e) ? e.message : 'Something went wrong; the key was not rolled. Try again in a moment.'),
      });
      if (!isKeyError(e)) throw e;
      return;
    }
    const { key, token } = result;
    await client.views.update({ view_id: body.view.id, view: keyRolledModal(key) });
    const via = await deliverSecret(deps, client, actor, body.view.id, key, token, 'rolled');
    deps.log.info({ keyId: key.keyId, via }, 'rolled secret delivered');
    await refreshHome(deps, client, actor, meta?.h ? parseListState(meta.h) : defaultListState);
  };
}
