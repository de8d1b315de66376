import { isKeyError } from '../../errors.js';
import type { Actor } from '../../members/member-service.js';
import { parseRevokeManyValue, refusedLine, revokeManyResultReply, type RevokeOutcome } from '../blocks/revoke-many.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { refreshHome } from '../home/publish-home.js';
import { defaultListState } from '../list-state.js';
import { parseAction, type ActionArgs } from './context.js';
import { pickedReason } from './revoke-button.js';

/** Keys revoked at once: each revoke waits out the verifiers' freshness lease, so a few overlap. */
const PARALLEL = 10;

/** Revokes one key of several through the domain, exactly as the single `Revoke` would. */
async function revokeOne(deps: SlackDeps, actor: Actor, keyId: string, reason: string | undefined): Promise<RevokeOutcome> {
  try {
    const { key, changed, staleUpToMs } = await deps.core.keys.revoke(actor, keyId, { reason });
    return changed ? { keyId, kind: 'revoked', key, staleUpToMs } : { keyId, kind: 'already_revoked', key, staleUpToMs };
  } catch (e) {
    if (isKeyError(e)) return { keyId, kind: 'refused', message: refusedLine(keyId, e.code, expectedFailure(e)) };
    deps.log.error({ keyId, err: (e as Error).message }, 'revoking one of several keys failed');
    return { keyId, kind: 'failed' };
  }
}

/**
 * `Revoke N keys` (the confirmation of `/apikey revoke <keyId> <keyId>…`): checks the clicker
 * is an admin of their workspace first (a replayed or forged click by anyone else changes
 * nothing), then revokes each key through the domain as if alone, and replaces the
 * confirmation with one line per key, for the admin only.
 */
export function revokeManyAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const asked = parseRevokeManyValue(action.value);
    try {
      await deps.core.members.requireAdmin(actor, 'revoke API keys');
    } catch (e) {
      return explainToClicker({ body, client, respond }, expectedFailure(e));
    }
    if (!asked) return explainToClicker({ body, client, respond }, 'That button is not one Keywarden made. Nothing was revoked.', 'Nothing revoked');
    const reason = pickedReason(body) ?? asked.reason;
    const outcomes = new Array<RevokeOutcome>(asked.keyIds.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, asked.keyIds.length) }, async () => {
        while (next < asked.keyIds.length) {
          const i = next++;
          outcomes[i] = await revokeOne(deps, actor, asked.keyIds[i]!, reason);
        }
      }),
    );
    if (respond) await respond({ replace_original: true, ...revokeManyResultReply(outcomes, reason) });
    if (outcomes.some((o) => o.kind === 'revoked')) await refreshHome(deps, client, actor, defaultListState);
  };
}
