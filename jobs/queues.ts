import { DelayedError, Queue, type Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../src/config/env.js';
import type { ReminderId } from '../src/keys/key-life.js';
import type { Logger } from '../src/log.js';
import type { Clock } from '../src/util/clock.js';

/** Queue names. */
export const REVOCATIONS = 'revocations';
export const WEBHOOKS = 'webhooks';
export const LIFE = 'key-life';
export const ROLLS = 'key-rolls';
export const REQUESTS = 'key-requests';

/** A roll to tell dependents of (`fanout`), or its webhook to one dependent (`webhook`). Ids and times only. */
export interface RollJobData {
  keyId: string;
  communityId: string;
  /** ISO instants of the roll and of the old secret's end: the event's body, fixed per roll. */
  rolledAt: string;
  previousValidUntil: string;
  dependentId?: string;
}
export type RollQueue = Queue<RollJobData, unknown, 'fanout' | 'webhook'>;
/** A roll's id: its instant (a key is rolled at most once per millisecond: the audit event decides). */
export const rollIdOf = (rolledAt: string) => `r${Date.parse(rolledAt).toString(36)}`;
export const rollJobId = (d: Pick<RollJobData, 'keyId' | 'rolledAt'>) => `roll-${d.keyId}-${rollIdOf(d.rolledAt)}`;
export const rollWebhookJobId = (d: Pick<RollJobData, 'keyId' | 'rolledAt'>, dependentId: string) => `rollwh-${d.keyId}-${rollIdOf(d.rolledAt)}-${dependentId}`;
/** The roll webhook's `webhook-id`: stable across retries. */
export const rollWebhookId = (d: Pick<RollJobData, 'keyId' | 'rolledAt'>, dependentId: string) => `msg_${d.keyId}_${dependentId}_${rollIdOf(d.rolledAt)}`;

/** A revoked key to announce. Ids only: the worker loads everything else from MongoDB. */
export interface RevocationJobData {
  keyId: string;
  communityId: string;
}

/** One webhook of one revocation to one dependent. Ids only, never the signing secret. */
export interface WebhookJobData {
  keyId: string;
  communityId: string;
  dependentId: string;
  deliveryId: string;
  /** Attempts already made before this job (by the fan-out itself): this job makes the rest. */
  after?: number;
}

/** A key's expiry or one of its reminders, due at an instant of the domain clock. Ids only. */
export interface LifeJobData {
  keyId: string;
  communityId: string;
  kind: 'expiry' | 'reminder';
  /** Which reminder (`7d`, `1d`), for kind `reminder`. */
  reminder?: ReminderId;
}

/** A key request's next look (lapse, outcome to show, approval to collect), due at an instant of the domain clock. Ids only. */
export interface RequestJobData {
  requestId: string;
  communityId: string;
  /** The instant (ms) this look is for; part of the job id. */
  dueAt: number;
}

export type RequestQueue = Queue<RequestJobData, unknown, 'request'>;
export type LifeQueue = Queue<LifeJobData, unknown, 'life'>;
export type RevocationQueue = Queue<RevocationJobData, unknown, 'revocation'>;
export type WebhookQueue = Queue<WebhookJobData, unknown, 'webhook'>;

export interface Queues {
  revocations: RevocationQueue;
  webhooks: WebhookQueue;
  life: LifeQueue;
  rolls: RollQueue;
  requests: RequestQueue;
}

// BullMQ refuses custom job ids with one ':' (it reserves `a:b:c` for legacy repeatable
// jobs), so the ids use '-'; keyIds (`ak_…`) and dependentIds (`dep_…`) have no '-'.
/** One revocation job per key, ever: enqueueing it twice is a no-op while the job is kept. */
export const revocationJobId = (keyId: string) => `rev-${keyId}`;
/** One webhook job per revocation and dependent (a key is revoked at most once). */
export const webhookJobId = (keyId: string, dependentId: string) => `wh-${keyId}-${dependentId}`;
export { deliveryIdFor } from '../src/dependents/delivery-record.js';

const DAY_S = 24 * 3600;
/**
 * Finished jobs are kept a week so that a late duplicate enqueue (sweeper, second process)
 * finds the id taken; MongoDB delivery state makes processors idempotent beyond that.
 */
const keep = { removeOnComplete: { age: 7 * DAY_S, count: 100_000 }, removeOnFail: { age: 30 * DAY_S, count: 100_000 } } as const;

/** Options of the revocation job: a few quick retries; the sweeper takes over after that. */
export const revocationJobOptions = (keyId: string): JobsOptions => ({
  jobId: revocationJobId(keyId),
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.2 },
  ...keep,
});

/** The backoff type the webhook workers resolve with the configured schedule. */
export const SCHEDULE_BACKOFF = 'schedule';

/**
 * Options of a webhook job: attempts = schedule length + 1 in all, delays from the worker's
 * schedule. A job that retries what the fan-out tried first (`after` attempts made) makes
 * the remaining ones, the first of them after the schedule's delay for that attempt.
 */
export const webhookJobOptions = (config: Config, keyId: string, dependentId: string, after = 0): JobsOptions => ({
  jobId: webhookJobId(keyId, dependentId),
  attempts: Math.max(1, config.WEBHOOK_RETRY_SCHEDULE.length + 1 - after),
  backoff: { type: SCHEDULE_BACKOFF },
  ...(after > 0 ? { delay: scheduledDelay(config.WEBHOOK_RETRY_SCHEDULE, after) } : {}),
  ...keep,
});

/** Enqueues the fan-out of a roll (a no-op when it already exists). */
export async function enqueueRoll(queue: RollQueue, d: RollJobData): Promise<void> {
  await queue.add('fanout', d, { jobId: rollJobId(d), attempts: 8, backoff: { type: 'exponential', delay: 1_000, jitter: 0.2 }, ...keep });
}

/** A roll's webhook to one dependent: the same retry schedule as a revocation's. */
export const rollWebhookJobOptions = (config: Config, d: RollJobData, dependentId: string): JobsOptions => ({
  jobId: rollWebhookJobId(d, dependentId),
  attempts: config.WEBHOOK_RETRY_SCHEDULE.length + 1,
  backoff: { type: SCHEDULE_BACKOFF },
  ...keep,
});

/** One expiry job per key, one job per key and reminder: scheduling them again is a no-op. */
export const lifeJobId = (d: Pick<LifeJobData, 'keyId' | 'kind' | 'reminder'>) => (d.kind === 'expiry' ? `exp-${d.keyId}` : `rem-${d.keyId}-${d.reminder}`);

/** One job per request and instant: any number of scans schedule it once. (requestIds are `rq_` + base64url: no ':'.) */
export const requestJobId = (d: Pick<RequestJobData, 'requestId' | 'dueAt'>) => `rq-${d.requestId}-${d.dueAt.toString(36)}`;

/**
 * Makes sure a scan's job `jobId` exists, due in `delayMs`: added when the queue does not know
 * it (retried with backoff while Slack or MongoDB is away), retried when it failed for good.
 * Job ids are deterministic, so any number of workers scanning at once add each job once.
 * True when it added or retried one.
 */
export async function ensureDueJob(
  queue: Pick<Queue, 'getJobState' | 'getJob'>,
  jobId: string,
  delayMs: number,
  add: (opts: JobsOptions) => Promise<unknown>,
): Promise<boolean> {
  const state = await queue.getJobState(jobId);
  if (state === 'unknown') {
    const opts: JobsOptions = {
      jobId,
      delay: Math.max(0, Math.round(delayMs)),
      attempts: 10,
      backoff: { type: 'exponential', delay: 2_000, jitter: 0.2 },
      ...keep,
    };
    await add(opts);
    return true;
  }
  if (state === 'failed') {
    const job = await queue.getJob(jobId);
    await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => undefined);
    return true;
  }
  return false;
}

/**
 * The delay before the retry that follows failed attempt number `attemptsMade` (1-based):
 * the schedule's entry (the last one again past its end) with ±20% jitter, so receivers
 * that came back are not hit by every sender at once.
 */
export function scheduledDelay(schedule: readonly number[], attemptsMade: number, random = Math.random): number {
  const base = schedule[Math.min(Math.max(attemptsMade - 1, 0), schedule.length - 1)] ?? 0;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Enqueues the revocation job of a key (a no-op when it already exists). */
export async function enqueueRevocation(queue: RevocationQueue, key: { keyId: string; communityId: string }): Promise<void> {
  await queue.add('revocation', { keyId: key.keyId, communityId: key.communityId }, revocationJobOptions(key.keyId));
}

/**
 * A Redis connection. `worker` connections wait for Redis forever (BullMQ requires
 * `maxRetriesPerRequest: null` for blocking commands); `publisher` connections fail fast,
 * so that a revoke never waits on Redis: the pending state in MongoDB and the sweeper
 * cover an enqueue that could not be made.
 */
export function redisConnection(config: Config, log: Logger, role: 'worker' | 'publisher'): Redis {
  const opts: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, connectionName: 'keywarden-worker' }
      : {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 3_000,
          connectionName: 'keywarden-publisher',
          retryStrategy: (times) => Math.min(times * 500, 5_000),
        };
  const conn = new Redis(config.REDIS_URL, opts);
  let lastLogged = 0;
  conn.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line per 10 s is enough to see an outage.
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    log.warn({ role, err: err.message }, 'redis connection error');
  });
  return conn;
}

/** The queues on one connection, with the configured prefix. */
export function openQueues(config: Config, connection: Redis, log: Logger): Queues {
  const prefix = config.QUEUE_PREFIX;
  const queues: Queues = {
    revocations: new Queue<RevocationJobData, unknown, 'revocation'>(REVOCATIONS, { connection, prefix }),
    webhooks: new Queue<WebhookJobData, unknown, 'webhook'>(WEBHOOKS, { connection, prefix }),
    life: new Queue<LifeJobData, unknown, 'life'>(LIFE, { connection, prefix }),
    rolls: new Queue<RollJobData, unknown, 'fanout' | 'webhook'>(ROLLS, { connection, prefix }),
    requests: new Queue<RequestJobData, unknown, 'request'>(REQUESTS, { connection, prefix }),
  };
  for (const [name, q] of Object.entries(queues) as Array<[string, Pick<Queue, 'on'>]>) {
    q.on('error', (err: Error) => log.warn({ queue: name, err: err.message }, 'queue error'));
  }
  return queues;
}

/**
 * Puts back a job that ran before its instant of the domain clock (the clock was set back,
 * or Redis's timer ran early), to run again when it is due (at least a second from now).
 * Throws BullMQ's DelayedError, which tells the worker the job was moved, not finished.
 */
export async function waitUntilDue(job: Job, token: string, dueAt: number, clock: Clock): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(1_000, dueAt - clock.now()), token);
  throw new DelayedError();
}
