import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnRedis, type OwnRedis } from '../support/processes.js';
import { startJobsStack, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger } from '../support/services.js';

// A worker shutting down after a Redis outage: its BullMQ workers' blocking clients are then
// in ioredis' reconnect backoff (no socket, a retry timer armed), where a graceful
// Worker.close() used to wait forever (bullmq#4656): SIGTERM during or right after an outage
// never finished. Redis is stopped for real, a redis-server of this file's own. The waits are
// real time: they are ioredis' own reconnect timers, which no clock of ours drives.
const logs = captureLogger('info');
let redis: OwnRedis;
const stacks: JobsStack[] = [];

beforeAll(async () => {
  redis = await startOwnRedis();
});

afterAll(async () => {
  await redis?.dispose();
});

async function stack(label: string): Promise<JobsStack> {
  const s = await startJobsStack(label, logs.log, { REDIS_URL: redis.url, LOG_LEVEL: 'info' });
  stacks.push(s);
  return s;
}

/** Long enough for every blocking client's backoff to grow past a second or two. */
const outage = () => new Promise((r) => setTimeout(r, 4_000));

describe('closing the workers after a Redis outage', () => {
  it('finishes within seconds when Redis has just come back', async () => {
    const s = await stack('closeback');
    await redis.kill();
    await outage();
    await redis.start();
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 40_000);

  it('finishes within seconds while Redis is still down, without waiting for it', async () => {
    const s = await stack('closedown');
    await redis.kill();
    await outage();
    const started = Date.now();
    await s.workers.close();
    expect(Date.now() - started).toBeLessThan(15_000);
    await redis.start(); // the rest of the stack's close clears its queues in Redis
    await s.close();
  }, 60_000);
});
