import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import type { Core } from '../src/core.js';
import { deadline } from '../src/util/deadline.js';
import type { LateDelivery } from '../src/dependents/dependent-service.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import { jobDeps } from './context.js';
import {
  enqueueRevocation,
  enqueueRoll,
  LIFE,
  REQUESTS,
  ROLLS,
  type RequestJobData,
  type RollJobData,
  openQueues,
  webhookJobOptions,
  redisConnection,
  REVOCATIONS,
  revocationJobOptions,
  SCHEDULE_BACKOFF,
  scheduledDelay,
  WEBHOOKS,
  type Queues,
  type LifeJobData,
  type RevocationJobData,
  type WebhookJobData,
} from './queues.js';
import { processRevocation } from './revocations.js';
import { processLife, startLifeScanner } from './life.js';
import { processRequest } from './requests.js';
import { processRoll, rollData } from './rolls.js';
import { startSweeper } from './sweeper.js';
import { DependentsReader } from './dependents-reader.js';
import { Limiter } from './limiter.js';
import { WebhookSender } from './webhook-sender.js';
import { processWebhook, RevokedKeyCache } from './webhooks.js';

export { sweep } from './sweeper.js';
export type { RevocationJobData, WebhookJobData } from './queues.js';

/** How long a revoke waits for Redis before leaving the enqueue to the sweeper. */
const ENQUEUE_TIMEOUT_MS = 3_000;

export interface RevocationPublisher {
  /**
   * KeyService listener: enqueues the revocation job. The notification is marked enqueued by
   * the job itself, when it does not finish at once: a write from here raced the job's
   * `done` (FerretDB rewrites the whole document) and could put a finished notification
   * back in hand until the sweeper settled it again.
   */
  onRevoked: (key: KeyRecord) => Promise<void>;
  /** KeyService listener for the keys of one revokeMany: their jobs in one addBulk, marked as for {@link onRevoked}. */
  onRevokedMany: (keys: KeyRecord[]) => Promise<void>;
  /** DependentService listener: enqueues the webhook of a dependent linked while its key was being revoked. */
  onLateDelivery: (delivery: LateDelivery) => Promise<void>;
  /** KeyService listener: enqueues the `api_key.rolled` fan-out of a roll. */
  onRolled: (key: KeyRecord) => Promise<void>;
  queues: Queues;
  close(): Promise<void>;
}

/**
 * The API side of the queues. Its Redis connection fails fast (no offline queue, short
 * timeouts): when Redis is down, `onRevoked` rejects within a few seconds (KeyService logs
 * it), the key stays revoked with its notification pending in MongoDB, and a worker's
 * sweeper enqueues it once Redis is back.
 */
export function createRevocationPublisher(core: Core): RevocationPublisher {
  const log = core.log.child({ component: 'publisher' });
  const connection = redisConnection(core.config, log, 'publisher');
  const queues = openQueues(core.config, connection, log);
  return {
    queues,
    async onRevoked(key) {
      // A late success after the timeout is harmless: the job id dedupes the sweeper's add.
      await deadline(enqueueRevocation(queues.revocations, key), ENQUEUE_TIMEOUT_MS, 'enqueueing the revocation');
    },
    async onRevokedMany(keys) {
      const jobs = keys.map((k) => ({
        name: 'revocation' as const,
        data: { keyId: k.keyId, communityId: k.communityId },
        opts: revocationJobOptions(k.keyId),
      }));
      await deadline(queues.revocations.addBulk(jobs), ENQUEUE_TIMEOUT_MS, 'enqueueing the revocations');
    },
    async onRolled(key) {
      await deadline(enqueueRoll(queues.rolls, rollData(key)), ENQUEUE_TIMEOUT_MS, 'enqueueing the roll');
    },
    async onLateDelivery(d) {
      const data = { keyId: d.keyId, communityId: d.communityId, dependentId: d.dependentId, deliveryId: d.deliveryId };
      await deadline(
        queues.webhooks.add('webhook', data, webhookJobOptions(core.config, d.keyId, d.dependentId)),
        ENQUEUE_TIMEOUT_MS,
        'enqueueing a late webhook',
      );
    },
    async close() {
      await Promise.allSettled([queues.revocations.close(), queues.webhooks.close(), queues.life.close(), queues.rolls.close(), queues.requests.close()]);
      connection.disconnect();
    },
  };
}

/** Tuning for tests: how fast a dead worker's jobs are taken over. BullMQ's defaults otherwise. */
export interface WorkerTuning {
  /** Lock of an active job, renewed at half of it (BullMQ default 30 s). */
  lockDuration?: number;
  /** How often stalled jobs are looked for (BullMQ default 30 s). */
  stalledInterval?: number;
  /** How many times a job may stall before it fails (BullMQ default 1). */
  maxStalledCount?: number;
}

/** ioredis' longest reconnect backoff (its default retryStrategy: 5 s + up to 200 ms jitter), with a margin. */
const RECONNECT_WAIT_MS = 6_000;

/**
 * Worker.close(), safe for a worker whose blocking client lost Redis. A graceful close
 * interrupts the blocking read with ioredis `disconnect()` and waits for its `end`; a client
 * in `reconnecting` (no socket, a retry timer armed: still in its backoff after an outage, or
 * Redis still down) never emits it, as `disconnect()` then only clears the retry timer, and the
 * close waits forever (bullmq#4656). Such a client is given one backoff to reconnect; still
 * without a socket, the worker is closed without waiting for its jobs (they could not report
 * to Redis anyway; their locks expire and they run again).
 */
async function closeWorker(worker: Worker): Promise<void> {
  const client = await worker.getBackend().blockingClient;
  if (client?.status === 'reconnecting') {
    let onReady = () => {};
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    client.once('ready', onReady);
    const timeout = new AbortController();
    await Promise.race([ready, sleep(RECONNECT_WAIT_MS, undefined, { signal: timeout.signal }).catch(() => undefined)]);
    timeout.abort();
    client.removeListener('ready', onReady);
  }
  await worker.close(client?.status === 'reconnecting');
}

/**
 * The worker side: one Worker per queue with the configured concurrency, the sweeper, and
 * a graceful close that stops taking jobs, waits for those in flight, then disconnects.
 */
export async function startWorkers(core: Core, tuning: WorkerTuning = {}): Promise<{ close(): Promise<void> }> {
  const { config } = core;
  const log = core.log.child({ component: 'workers' });
  const connection = redisConnection(config, log, 'worker');
  const queues = openQueues(config, connection, log);
  const deps = jobDeps(core, queues);
  const sender = new WebhookSender({
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    maxSockets: config.WEBHOOK_CONCURRENCY,
  });
  const revokedKeys = new RevokedKeyCache();
  const limiter = new Limiter(config.WEBHOOK_CONCURRENCY);
  const dependentsReader = new DependentsReader(deps.dependents);
  let stopping = false;
  const common = { connection, prefix: config.QUEUE_PREFIX, ...tuning };

  const revocations = new Worker<RevocationJobData>(
    REVOCATIONS,
    (job) => processRevocation(job, { ...deps, sender, limiter, dependentsReader, stopping: () => stopping }),
    {
      ...common,
      concurrency: config.REVOCATION_CONCURRENCY,
    },
  );
  const webhooks = new Worker<WebhookJobData>(WEBHOOKS, (job) => processWebhook(job, { ...deps, sender, revokedKeys }), {
    ...common,
    concurrency: config.WEBHOOK_CONCURRENCY,
    settings: {
      // Attempts the fan-out made before the job (`after`) count toward the schedule.
      backoffStrategy: (attemptsMade, type, _err, job) =>
        type === SCHEDULE_BACKOFF
          ? scheduledDelay(config.WEBHOOK_RETRY_SCHEDULE, attemptsMade + ((job?.data as WebhookJobData | undefined)?.after ?? 0))
          : 1_000,
    },
  });
  const life = new Worker<LifeJobData>(LIFE, (job, token) => processLife(job, token, deps), { ...common, concurrency: config.REVOCATION_CONCURRENCY });
  const requests = new Worker<RequestJobData>(REQUESTS, (job, token) => processRequest(job, token, deps), {
    ...common,
    concurrency: config.REVOCATION_CONCURRENCY,
  });
  const rolls = new Worker<RollJobData>(ROLLS, (job) => processRoll(job, { ...deps, sender }), {
    ...common,
    concurrency: config.WEBHOOK_CONCURRENCY,
    settings: {
      backoffStrategy: (attemptsMade, type) => (type === SCHEDULE_BACKOFF ? scheduledDelay(config.WEBHOOK_RETRY_SCHEDULE, attemptsMade) : 1_000),
    },
  });
  for (const w of [revocations, webhooks, life, rolls, requests]) {
    w.on('error', (err: Error) => log.warn({ queue: w.name, err: err.message }, 'worker error'));
    w.on('failed', (job: Job | undefined, err: Error) =>
      log.debug({ queue: w.name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: err.message }, 'job attempt failed'),
    );
  }
  await Promise.all([
    revocations.waitUntilReady(),
    webhooks.waitUntilReady(),
    life.waitUntilReady(),
    rolls.waitUntilReady(),
    requests.waitUntilReady(),
    deps.notifications.init(),
    deps.reminders.init(),
  ]);
  const sweeper = startSweeper(deps);
  const lifeScanner = startLifeScanner(deps);
  log.info({ prefix: config.QUEUE_PREFIX, webhookConcurrency: config.WEBHOOK_CONCURRENCY, schedule: config.WEBHOOK_RETRY_SCHEDULE }, 'workers started');

  return {
    async close() {
      // Fan-outs in flight finish their POSTs, start no more, and go back to the queue.
      stopping = true;
      await Promise.all([sweeper.stop(), lifeScanner.stop()]);
      await Promise.allSettled([revocations, webhooks, life, rolls, requests].map(closeWorker));
      await deps.deliveries.flush();
      deps.noticeUpdates.stop();
      await Promise.allSettled([queues.revocations.close(), queues.webhooks.close(), queues.life.close(), queues.rolls.close(), queues.requests.close()]);
      sender.close();
      connection.disconnect();
      log.info('workers stopped');
    },
  };
}
