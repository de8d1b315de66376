import { isKeyError } from '../../errors.js';
import { normalizeKeyId, type RevokeManyResult } from '../../keys/key-service.js';
import type { Actor } from '../../members/member-service.js';
import { parseRevokeManyValue, refusedLine, revokeManyResultReply, type RevokeOutcome } from '../blocks/revoke-many.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { refreshHome } from '../home/publish-home.js';
import { defaultListState } from '../list-state.js';
import { parseAction, type ActionArgs } from './context.js';
import { pickedReason } from './revoke-button.js';

/** What one key's result of KeyService.revokeMany says to the admin. */
function outcomeOf(deps: SlackDeps, r: RevokeManyResult): RevokeOutcome {
  const { keyId } = r;
  if (r.ok) return { keyId, kind: r.result.changed ? 'revoked' : 'already_revoked', key: r.result.key, staleUpToMs: r.result.staleUpToMs };
  if (isKeyError(r.error)) return { keyId, kind: 'refused', message: refusedLine(keyId, r.error.code, expectedFailure(r.error)) };
  deps.log.error({ keyId, err: (r.error as Error).message }, 'revoking one of several keys failed');
  return { keyId, kind: 'failed' };
}

/** Revokes the keys through the domain, each as if alone (KeyService.revokeMany batches the work). */
async function revokeAll(deps: SlackDeps, actor: Actor, keyIds: string[], reason: string | undefined): Promise<RevokeOutcome[]> {
  try {
    const results = new Map((await deps.core.keys.revokeMany(actor, keyIds, { reason })).map((r) => [r.keyId, r]));
    return keyIds.map((keyId) => {
      const r = results.get(normalizeKeyId(keyId));
      return r ? outcomeOf(deps, { ...r, keyId }) : { keyId, kind: 'failed' as const };
    });
  } catch (e) {
    // Refused as a whole (no longer an admin) or the database gone before any key was decided.
    return keyIds.map((keyId) => outcomeOf(deps, { keyId, ok: false, error: e }));
  }
}

/**
 * `Revoke N keys` (the confirmation of `/apikey revoke <keyId> <keyId>…`): checks the clicker
 * is an admin of their workspace first (a replayed or forged click by anyone else changes
 * nothing), then revokes each key through the domain as if alone (in one batch), and replaces the
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
    const outcomes = await revokeAll(deps, actor, asked.keyIds, reason);
    if (respond) await respond({ replace_original: true, ...revokeManyResultReply(outcomes, reason) });
    if (outcomes.some((o) => o.kind === 'revoked')) await refreshHome(deps, client, actor, defaultListState);
  };
}
