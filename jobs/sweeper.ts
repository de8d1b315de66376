import type { JobDeps } from './context.js';
import { settle } from './notices.js';
import type { SweepCursor } from './notification-store.js';
import { enqueueRevocation, revocationJobId, webhookJobId, webhookJobOptions } from './queues.js';

/** Revocations looked at per pass. */
const BATCH = 100;

export interface SweepReport {
  checked: number;
  /** Revocation jobs (re-)enqueued because none existed, or retried after failing. */
  revocationsEnqueued: number;
  /** Webhook jobs re-enqueued for pending deliveries whose job was gone. */
  webhooksEnqueued: number;
  /** Pending deliveries whose job had failed for good elsewhere (e.g. stalled too often). */
  deliveriesFailed: number;
  /** Where the next pass starts; undefined once the end was reached (start over). */
  cursor?: SweepCursor;
}

/**
 * One pass of the sweeper: for every unfinished notification older than SWEEP_GRACE_MS,
 * make sure work exists that will finish it. Safe in any number of processes at once:
 * every enqueue uses the job's fixed id (BullMQ ignores an add whose id exists) and every
 * MongoDB change is conditional, so running twice never notifies twice.
 */
export async function sweep(deps: JobDeps, cursor?: SweepCursor): Promise<SweepReport> {
  const { queues, notifications, deliveries, config, log } = deps;
  const report: SweepReport = { checked: 0, revocationsEnqueued: 0, webhooksEnqueued: 0, deliveriesFailed: 0 };
  const due = await notifications.unfinished(new Date(Date.now() - config.SWEEP_GRACE_MS), BATCH, cursor);
  const last = due[due.length - 1];
  if (due.length === BATCH && last) report.cursor = { pendingSince: last.pendingSince, keyId: last.keyId };
  for (const key of due) {
    report.checked++;
    const state = await queues.revocations.getJobState(revocationJobId(key.keyId));
    if (state === 'unknown') {
      // Redis was down at revoke time, or the publisher died between the two writes.
      await enqueueRevocation(queues.revocations, key);
      await notifications.markEnqueued(key.keyId);
      report.revocationsEnqueued++;
      log.info({ keyId: key.keyId }, 'sweeper enqueued a pending revocation');
      continue;
    }
    if (state === 'failed') {
      const job = await queues.revocations.getJob(revocationJobId(key.keyId));
      await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => undefined);
      report.revocationsEnqueued++;
      continue;
    }
    if (state !== 'completed') continue; // waiting, delayed or active: it is in hand.

    // The fan-out ran; every pending delivery must still have a live webhook job.
    for (const d of await deliveries.pendingForKey(key.keyId)) {
      const id = webhookJobId(d.keyId, d.dependentId);
      const whState = await queues.webhooks.getJobState(id);
      if (whState === 'unknown') {
        await queues.webhooks.add('webhook', { keyId: d.keyId, communityId: d.communityId, dependentId: d.dependentId, deliveryId: d.deliveryId }, webhookJobOptions(config, d.keyId, d.dependentId));
        report.webhooksEnqueued++;
      } else if (whState === 'failed') {
        const job = await queues.webhooks.getJob(id);
        const reason = job?.failedReason ? `gave up: ${job.failedReason}` : 'gave up';
        if (await deliveries.finishWithoutAttempt(d.deliveryId, 'failed', reason)) {
          report.deliveriesFailed++;
          await settle(deps, key.keyId, 'failed');
        }
      }
    }
    await settle(deps, key.keyId);
  }
  if (report.revocationsEnqueued || report.webhooksEnqueued || report.deliveriesFailed) log.info({ ...report, cursor: undefined }, 'sweep');
  return report;
}

/**
 * Runs {@link sweep} every SWEEP_INTERVAL_MS (±10%, so several workers drift apart), one
 * pass at a time; errors (Redis or MongoDB down) are logged and the next pass tries again.
 */
export function startSweeper(deps: JobDeps): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let cursor: SweepCursor | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, Math.round(deps.config.SWEEP_INTERVAL_MS * (0.9 + 0.2 * Math.random())));
  };
  const tick = () => {
    running = sweep(deps, cursor)
      .then((r) => { cursor = r.cursor; })
      .catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'sweep failed; will try again'))
      .finally(schedule);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
