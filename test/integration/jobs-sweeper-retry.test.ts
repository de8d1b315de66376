import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/index.js';
import { REVOCATIONS, revocationJobId } from '../../jobs/queues.js';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { startJobsStack, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger } from '../support/services.js';

const admin = { communityId: 'T0SWEEP', userId: 'UADMIN1' };
const logs = captureLogger('info');
let stack: JobsStack;
let later: { close(): Promise<void> } | undefined;

beforeAll(async () => {
  stack = await startJobsStack('sweepretry', logs.log, {
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    SWEEP_INTERVAL_MS: '200',
    SWEEP_GRACE_MS: '300',
    LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  await later?.close();
  await stack?.close();
});

describe('a revocation job that failed outright', () => {
  it('is retried by the sweeper once healthy workers run, and every dependent is notified once', async () => {
    const { core, config, receivers, mongo } = stack;
    // Only a broken release is working the revocations queue: its fan-out fails for good
    // (an UnrecoverableError: no retries left in BullMQ).
    await stack.workers.close();
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    const broken = new Worker(
      REVOCATIONS,
      async () => {
        throw new UnrecoverableError('simulated: a release whose fan-out crashes');
      },
      { connection, prefix: config.QUEUE_PREFIX },
    );
    const queue = new Queue(REVOCATIONS, { connection, prefix: config.QUEUE_PREFIX });

    try {
      const { key } = await core.keys.create(admin, { name: 'Sweeper retry', description: 'Fan-out failed once for good', roles: ['ic_viewer'] });
      const paths = ['/sweep/0', '/sweep/1'];
      for (const [i, path] of paths.entries()) {
        await core.dependents.link(admin, { keyId: key.keyId, kind: 'cti_connector', name: `sweep dependent ${i}`, url: receivers.url(path) });
      }
      await core.keys.revoke(admin, key.keyId);
      await expect.poll(() => queue.getJobState(revocationJobId(key.keyId)), { timeout: 10_000 }).toBe('failed');
      await broken.close();
      expect(receivers.received).toHaveLength(0);
      expect((await core.keyRepo.findByKeyId(key.keyId))?.notification.state).not.toBe('done');

      // A fixed release starts: its sweeper finds the failed job and retries it.
      later = await startWorkers(core);
      await expect.poll(async () => (await core.keyRepo.findByKeyId(key.keyId))?.notification.state, { timeout: 30_000, interval: 100 }).toBe('done');
      await new Promise((r) => setTimeout(r, 1_000)); // more sweeps: still nothing twice
      for (const path of paths) expect(receivers.receivedOn(path)).toHaveLength(1);
      const rows = await new DeliveryRepository(mongo.models).forKey(key.keyId);
      expect(rows.map((d) => d.state)).toEqual(['delivered', 'delivered']);
      expect(await queue.getJobState(revocationJobId(key.keyId))).toBe('completed');
    } finally {
      await broken.close();
      await queue.close();
      connection.disconnect();
    }
  });
});
