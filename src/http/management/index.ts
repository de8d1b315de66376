import type { IncomingMessage } from 'node:http';
import { Redis } from 'ioredis';
import type { AdminScope } from '../../admin-tokens/admin-token-service.js';
import type { Core } from '../../core.js';
import type { Actor } from '../../members/member-service.js';
import { isKeyError, type ErrorCode } from '../../errors.js';
import { IdempotencyRepository } from '../../store/idempotency-repository.js';
import { HttpError } from '../errors.js';
import { MissLimiter } from '../miss-limiter.js';
import type { HttpErrorCode } from '../schemas.js';
import type { Handler } from '../server.js';
import { auditRoutes } from './audit.js';
import { authorize } from './auth.js';
import { dependentRoutes } from './dependents.js';
import { keyRoutes } from './keys.js';

/** The domain's expected failures as the API answers them. */
const fromDomain: Record<ErrorCode, [number, HttpErrorCode]> = {
  not_found: [404, 'not_found'],
  already_revoked: [409, 'conflict'],
  forbidden: [403, 'forbidden'],
  invalid_input: [400, 'invalid_request'],
  conflict: [409, 'conflict'],
  unavailable: [503, 'unavailable'],
};

/** A route whose KeyErrors become their HttpErrors (sendError answers any other error 500). */
const answeringDomainErrors =
  (handler: Handler): Handler =>
  async (req, res, ctx) => {
    try {
      await handler(req, res, ctx);
    } catch (e) {
      if (!isKeyError(e)) throw e;
      const [status, code] = fromDomain[e.code];
      throw new HttpError(status, code, e.message);
    }
  };

/** Checks the request's admin token for one scope and returns its actor (see {@link authorize}). */
export type Authorize = (req: IncomingMessage, scope: AdminScope) => Promise<Actor>;

export interface ManagementApi {
  routes: [string, Partial<Record<string, Handler>>][];
  close(): Promise<void>;
}

/** The management API's routes, for createApiServer's `routes`; `close` ends its Redis connection. */
export function createManagementApi(core: Core): ManagementApi {
  const { config } = core;
  // Fails fast while Redis is down: the limiter then counts in this process alone.
  const redis = new Redis(config.REDIS_URL, {
    connectionName: 'keywarden-management',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
  });
  redis.on('error', (e: Error) => core.log.debug({ err: e.message }, 'management rate limiter: Redis unreachable; counting in this process'));
  const limiter = new MissLimiter(redis, config.QUEUE_PREFIX, { limit: config.MANAGEMENT_RATE_LIMIT, windowMs: config.MANAGEMENT_RATE_WINDOW_MS }, core.clock, {
    name: 'management-requests',
    refusal: (seconds) => `Too many requests with this admin token; retry in ${seconds} s.`,
  });
  const auth: Authorize = (req, scope) => authorize(core, limiter, req, scope);
  return {
    routes: [...keyRoutes(core, auth, new IdempotencyRepository(core.mongo.models)), ...dependentRoutes(core, auth), ...auditRoutes(core, auth)].map(
      ([path, methods]) => [path, Object.fromEntries(Object.entries(methods).map(([method, h]) => [method, answeringDomainErrors(h!)]))],
    ),
    async close() {
      redis.disconnect();
    },
  };
}
