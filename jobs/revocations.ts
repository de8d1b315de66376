import { UnrecoverableError, type Job } from 'bullmq';
import { deliveryIdFor, type DeliveryProgress, type DeliveryRecord, type DeliveryState } from '../src/dependents/delivery-record.js';
import type { JobDeps } from './context.js';
import type { DependentsReader } from './dependents-reader.js';
import type { Limiter } from './limiter.js';
import { advanceNotification, postNotices } from './notices.js';
import { webhookJobOptions, type RevocationJobData } from './queues.js';
import type { PostOutcome, WebhookSender } from './webhook-sender.js';
import { endEvent, settleAttempt, signedHeaders, type DeliveryTarget, type Settled } from './webhooks.js';

/** What a revocation job reports when it completes. */
export interface RevocationResult {
  deliveries: number;
  /** Sent by this run (first attempts, or again after a crash). */
  sent: number;
  /** Left to webhook jobs: retries of failed first attempts. */
  retrying: number;
  skipped?: 'already_done';
}

export type FanoutDeps = JobDeps & {
  sender: WebhookSender;
  /** The POSTs of every fan-out in this process, WEBHOOK_CONCURRENCY at a time. */
  limiter: Limiter;
  /** Reads the dependents of concurrent fan-outs together. */
  dependentsReader: DependentsReader;
  /** True once the worker is shutting down: no new POST is started. */
  stopping: () => boolean;
};

/** The order of a key's deliveries as MongoDB returns them for the notice (DeliveryRepository.forKey). */
const byNotice = (a: DeliveryRecord, b: DeliveryRecord) =>
  a.createdAt.getTime() - b.createdAt.getTime() || a.dependentName.localeCompare(b.dependentName) || a.deliveryId.localeCompare(b.deliveryId);

/** Notes an attempt of this run in its record, as the delivery log will read once written. */
function remember(rec: DeliveryRecord, at: Date, outcome: PostOutcome, settled: Settled): void {
  const gone = settled.state === 'gone';
  const error = gone ? 'the receiver answered 410 Gone' : outcome.error;
  const attempt: DeliveryRecord['attempts'][number] = { at, durationMs: outcome.durationMs };
  if (outcome.status !== undefined) attempt.status = outcome.status;
  if (error !== undefined) attempt.error = error;
  rec.attempts.push(attempt);
  rec.lastStatus = outcome.status;
  rec.lastError = error;
  if (settled.state !== 'retry') rec.state = settled.state;
  if (settled.state === 'delivered') rec.deliveredAt = at;
}

/** Marks a promise as handled now (it is awaited later, all together), so its failure is not reported as unhandled meanwhile. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * Fans a revocation (or an expiry) out to the key's active dependents, sending at once:
 * dependents are read in pages as MongoDB finds them; each is POSTed as soon as it is read
 * (WEBHOOK_CONCURRENCY at a time across the process), and then its delivery record is
 * inserted with that first attempt and, when it decided the delivery, its end — one
 * document per dependent, in batches gathered over a few milliseconds. Only failures become
 * webhook jobs, which retry on the schedule (their attempts go to the delivery log). Then
 * the Slack notice (posted once) and the notification's end.
 *
 * Safe to run any number of times for the same key: the first run claims the fan-out; a
 * re-run (after a crash, a stall or a shutdown) reads the records and the log and sends
 * again only to dependents with no recorded attempt — with the same webhook-id, so that a
 * receiver that got it before the crash can drop it — and makes sure the retries of
 * recorded failures have their job. Finished deliveries are never re-sent.
 */
export async function processRevocation(job: Job<RevocationJobData>, deps: FanoutDeps): Promise<RevocationResult> {
  const { keyId } = job.data;
  const log = deps.log.child({ jobId: job.id, keyId, communityId: job.data.communityId });
  // Asked for first: the read (one for the fan-outs starting together, a scan on FerretDB)
  // is under way while the key is read and the fan-out claimed.
  const dependents = deps.dependentsReader.activeForSigning(keyId);
  const key = await deps.keyRepo.findByKeyId(keyId);
  if (!key) throw new UnrecoverableError(`API key ${keyId} does not exist`);
  // The same fan-out announces a revocation and an expiry (notification.event).
  if (key.status !== 'revoked' && key.notification.event !== 'expired') throw new UnrecoverableError(`API key ${keyId} is neither revoked nor expired`);
  if (key.notification.state === 'done') return { deliveries: key.notification.total, sent: 0, retrying: 0, skipped: 'already_done' };

  const firstRun = await deps.deliveries.claimFanout(keyId);
  const progress = firstRun ? new Map<string, DeliveryProgress>() : await deps.deliveries.progress(keyId);
  const body = JSON.stringify(endEvent(key));
  const lastAttempt = deps.config.WEBHOOK_RETRY_SCHEDULE.length + 1;
  const records: DeliveryRecord[] = [];
  const work: Promise<unknown>[] = [];
  // `exact`: every outcome of this run was decided by this run, so `records` is what the
  // log says (a first run only; a duplicate run finishing a delivery first makes it false).
  const tally = { sent: 0, retrying: 0, held: 0, changed: undefined as DeliveryState | undefined, exact: firstRun };

  // Only once the record holds the attempt (the retry reads it).
  const retryLater = async (t: DeliveryTarget, after: number) => {
    await deps.queues.webhooks.add(
      'webhook',
      { keyId, communityId: t.communityId, dependentId: t.dependentId, deliveryId: t.deliveryId, after },
      webhookJobOptions(deps.config, keyId, t.dependentId, after),
    );
    tally.retrying++;
  };

  const send = async (t: DeliveryTarget, rec: DeliveryRecord, url: string, secret: string) => {
    const posted = await deps.limiter.run(async () => {
      if (deps.stopping()) return undefined;
      const at = new Date();
      return { at, outcome: await deps.sender.post(url, body, signedHeaders(secret, t.deliveryId, body, at)) };
    });
    if (!posted) {
      tally.held++;
      return;
    }
    tally.sent++;
    const settled = await settleAttempt(deps, t, 1, posted.at, posted.outcome, lastAttempt === 1, rec.createdAt);
    remember(rec, posted.at, posted.outcome, settled);
    if (settled.state !== 'retry' && !settled.finished) tally.exact = false;
    if (settled.state === 'retry') return retryLater(t, 1);
    if (settled.finished && (settled.state !== 'delivered' || !tally.changed)) tally.changed = settled.state;
  };

  for await (const page of dependents)
    for (const d of page) {
      const deliveryId = deliveryIdFor(keyId, d.dependentId);
      const t: DeliveryTarget = { deliveryId, keyId, dependentId: d.dependentId, communityId: key.communityId, dependentName: d.name };
      const before = progress.get(deliveryId);
      const rec: DeliveryRecord = { ...t, state: before?.final ?? 'pending', attempts: [], createdAt: new Date() };
      records.push(rec);
      if (before?.final) continue;
      // A failure recorded by an earlier run has (or is given again) its retry job.
      work.push(handled(before && before.attempts > 0 ? retryLater(t, before.attempts) : send(t, rec, d.webhookUrl, d.signingSecret)));
    }
  // What this run knows of its deliveries, as the notice shows them (a first run knows every outcome).
  const known = () => [...records].sort(byNotice).map((r) => ({ ...r, attempts: [...r.attempts] }));
  // While the POSTs are under way: Slack being slow or down never holds them up.
  const notices = postNotices(deps, key, records, firstRun ? known : undefined);
  const results = await Promise.allSettled([...work, notices]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (tally.held > 0) throw new Error(`worker stopping: ${tally.held} webhooks left for the next run`);
  log.info({ dependents: records.length, sent: tally.sent, retrying: tally.retrying, firstRun }, 'revocation fanned out');
  // A first run that decided every outcome itself ends without reading them back (by keyId,
  // two collection scans on FerretDB); any other run recounts from MongoDB.
  const final = tally.exact ? known() : undefined;
  // pending → enqueued only when it does not end here (retries left to webhook jobs, or a
  // re-run): one write of the key document fewer, and none racing the write that ends it.
  if (key.notification.state === 'pending' && (!final || final.some((d) => d.state === 'pending'))) await deps.notifications.markEnqueued(keyId);
  await advanceNotification(deps, keyId, tally.changed, final);
  return { deliveries: records.length, sent: tally.sent, retrying: tally.retrying };
}
