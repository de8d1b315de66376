import { freePort } from '../../src/devservices/child.js';
import { redisAnswers } from '../../src/devservices/redis.js';

/** A TCP port nothing listens on right now (the same helper the dev services use). */
export { freePort };

/** Resolves once a Redis answers PING on the port, rejects after the timeout. */
export async function waitForRedis(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await redisAnswers(port, host))) {
    if (Date.now() > deadline) throw new Error(`Redis on ${host}:${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
