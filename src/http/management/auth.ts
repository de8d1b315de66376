import type { IncomingMessage } from 'node:http';
import type { AdminScope } from '../../admin-tokens/admin-token-service.js';
import type { Core } from '../../core.js';
import type { Actor } from '../../members/member-service.js';
import { HttpError } from '../errors.js';
import type { MissLimiter } from '../miss-limiter.js';

const BEARER = /^Bearer ([!-~]{1,200})$/;

/**
 * Who may call a management route: the admin token in `Authorization: Bearer …`, active
 * (else 401), holding `scope` (else 403), and within its rate limit (else 429 with
 * Retry-After, counted in Redis across replicas). Returns the actor the domain sees,
 * `token:<name>` with its creator.
 */
export async function authorize(core: Core, limiter: MissLimiter, req: IncomingMessage, scope: AdminScope): Promise<Actor> {
  const header = req.headers.authorization;
  const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  if (!presented)
    throw new HttpError(401, 'unauthorized', 'Send an admin token as `Authorization: Bearer <token>` (`/apikey admin-token create` makes one).', {
      'www-authenticate': 'Bearer',
    });
  const auth = await core.adminTokens.authenticate(presented);
  if (!auth) throw new HttpError(401, 'unauthorized', 'That admin token is not valid (unknown, mistyped or revoked).', { 'www-authenticate': 'Bearer' });
  if (!auth.token.scopes.includes(scope)) {
    throw new HttpError(403, 'forbidden', `The admin token \`${auth.token.name}\` lacks the scope ${scope} (it has ${auth.token.scopes.join(', ')}).`);
  }
  await limiter.check(auth.token.tokenId);
  limiter.record(auth.token.tokenId);
  return auth.actor;
}
