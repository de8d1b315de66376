import type { Core } from '../../core.js';
import { mongoReachable } from '../../store/mongo.js';
import { sendJson } from '../errors.js';
import type { Readiness } from '../schemas.js';
import type { Verifier } from '../verifier.js';
import type { Handler } from '../server.js';
import { within } from '../within.js';

/** `GET /healthz`: the process is up and its event loop turns. */
export const healthRoute: Handler = async (_req, res, { requestId }) => sendJson(res, 200, { status: 'ok' }, requestId);

/** `GET /readyz`: MongoDB answers a ping and Redis answers PING, each within 2 s; else 503 naming which is down. */
export function readyRoute(core: Core, verifier: Verifier): Handler {
  return async (_req, res, { requestId }) => {
    const [mongodb, redis] = await Promise.all([
      within(2_000, () => mongoReachable(core.mongo.conn), false),
      within(2_000, () => verifier.redisReachable(), false),
    ]);
    const down = [!mongodb && 'mongodb', !redis && 'redis'].filter((x): x is string => Boolean(x));
    const body: Readiness = {
      status: down.length ? 'unavailable' : 'ready',
      checks: { mongodb: mongodb ? 'ok' : 'down', redis: redis ? 'ok' : 'down' },
    };
    if (down.length) body.error = { code: 'unavailable', message: `Not reachable: ${down.join(', ')}.`, requestId };
    sendJson(res, down.length ? 503 : 200, body, requestId);
  };
}
