import type { Actor } from '../members/member-service.js';
import type { AuditPageView } from './blocks/audit.js';
import type { SlackDeps } from './deps.js';
import { decodeCursor, type AuditState } from './audit-state.js';

export const AUDIT_PAGE_SIZE = 10;

/**
 * One page of activity for `actor`. Admins only, for a key's timeline too: the trail names
 * every member and dependent URL host, which viewers do not otherwise see.
 */
export async function loadAuditPage(deps: SlackDeps, actor: Actor, state: AuditState): Promise<{ page: AuditPageView; state: AuditState; keyName?: string }> {
  const { core } = deps;
  await core.members.requireAdmin(actor, 'see the activity of API keys');
  const key = state.k ? await core.keys.show(actor, state.k) : undefined;
  const canonical: AuditState = { ...state, ...(key ? { k: key.keyId } : {}) };
  const before = decodeCursor(state.b);
  const after = before ? undefined : decodeCursor(state.a);
  const page = await core.audit.timeline(actor.communityId, {
    limit: AUDIT_PAGE_SIZE,
    ...(key ? { target: key.keyId } : {}),
    ...(state.u ? { user: state.u } : {}),
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
  });
  return { page, state: canonical, ...(key ? { keyName: key.name } : {}) };
}
