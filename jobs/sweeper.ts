import type { AuditCursor } from '../src/audit/audit-log.js';
import { deliveryIdFor } from '../src/dependents/delivery-record.js';
import type { DependentCursor, DependentRecord } from '../src/dependents/dependent-record.js';
import type { JobDeps } from './context.js';
import { advanceNotification } from './notices.js';
import type { SweepCursor } from '../src/store/notification-store.js';
import { enqueueRevocation, revocationJobId, webhookJobId, webhookJobOptions } from './queues.js';

/** Revocations looked at per pass. */
const BATCH = 100;
/** Audit events of revocations looked at per pass (the first passes of a process walk the whole history). */
const AUDIT_BATCH = 500;

/** Where each of the sweeper's walks stopped; undefined starts from the beginning. */
export interface SweepCursors {
  notifications?: SweepCursor;
  revocations?: AuditCursor;
  dependents?: DependentCursor;
}

export interface SweepReport {
  checked: number;
  /** Revocations recorded in the audit trail whose key was still active, now revoked. */
  revocationsCompleted: number;
  /** Active dependents of revoked keys that had no delivery (linked during the revoke), now given one. */
  lateDependents: number;
  /** Pending announcements to the verifiers made now, and those that failed again. */
  announced: number;
  announceFailed: number;
  /** Revocation jobs (re-)enqueued because none existed, or retried after failing. */
  revocationsEnqueued: number;
  /** Webhook jobs re-enqueued for pending deliveries whose job was gone. */
  webhooksEnqueued: number;
  /** Pending deliveries whose job had failed for good elsewhere (e.g. stalled too often). */
  deliveriesFailed: number;
  /** Where the next pass starts. */
  cursors: SweepCursors;
}

/**
 * Completes half-done revocations: the audit event that decides a revocation is inserted
 * before the key is updated, so a revoker that dies between the two leaves a key that is
 * active while the audit trail says revoked. Such keys are revoked now (with the recorded
 * actor and time), which records their announcement and notification as pending for the
 * steps below. Walks the trail from the beginning once per process, then only new events
 * (by their recorded time: an event stored more than SWEEP_GRACE_MS after the time it
 * carries, e.g. from a revoker whose clock lags by more than that, is seen only by a
 * process started later).
 */
async function completeRevocations(deps: JobDeps, olderThan: Date, cursor: AuditCursor | undefined, report: SweepReport): Promise<AuditCursor | undefined> {
  const events = await deps.audit.revocations(olderThan, AUDIT_BATCH, cursor);
  const active = await deps.keyRepo.activeAmong([...new Set(events.map((e) => e.keyId))]);
  for (const e of events) {
    if (!active.has(e.keyId)) continue;
    const revoked = await deps.keyRepo.revoke(e.communityId, e.keyId, e.actor, e.at);
    if (revoked) {
      report.revocationsCompleted++;
      deps.log.warn({ keyId: e.keyId, communityId: e.communityId }, 'sweeper completed a revocation whose revoker died half-way');
      // It was active until now: caches may hold it. Its notification (pending since the
      // recorded time) is enqueued below in this same pass.
      if ((await deps.keys.announce(revoked)) === 0) report.announced++;
      else report.announceFailed++;
    }
  }
  const last = events[events.length - 1];
  return last ? { at: last.at, id: last.id } : cursor;
}

/**
 * Gives a delivery to every active dependent of a revoked key that has none: one linked
 * while its key was being revoked, whose linking process died before it could re-read the
 * key (DependentService.completeLink does this itself otherwise). Its notification is
 * reopened so that the steps below send it. Walks all dependents once per process, then
 * only new ones.
 */
async function tellLateDependents(
  deps: JobDeps,
  olderThan: Date,
  cursor: DependentCursor | undefined,
  report: SweepReport,
): Promise<DependentCursor | undefined> {
  const rows = await deps.dependents.createdBefore(olderThan, AUDIT_BATCH, cursor);
  const revoked = await deps.keyRepo.revokedAmong([...new Set(rows.filter((d) => d.status === 'active').map((d) => d.keyId))]);
  const candidates = rows.filter((d) => d.status === 'active' && revoked.has(d.keyId));
  const have = await deps.deliveries.existing(candidates.map((d) => deliveryIdFor(d.keyId, d.dependentId)));
  // A key whose fan-out has not finished sends to its dependents itself (it creates their
  // deliveries as it sends): the walk waits for it, here, and looks again next pass.
  const inHand = new Map<string, boolean>();
  const fanningOut = async (keyId: string) => {
    if (!inHand.has(keyId)) inHand.set(keyId, (await deps.keyRepo.findByKeyId(keyId))?.notification.state !== 'done');
    return inHand.get(keyId)!;
  };
  let last: DependentRecord | undefined;
  for (const d of rows) {
    const deliveryId = deliveryIdFor(d.keyId, d.dependentId);
    if (candidates.includes(d) && !have.has(deliveryId)) {
      if (await fanningOut(d.keyId)) break;
      await deps.deliveries.ensure([{ communityId: d.communityId, deliveryId, keyId: d.keyId, dependentId: d.dependentId, dependentName: d.name }]);
      await deps.keyRepo.reopenNotification(d.keyId);
      report.lateDependents++;
      deps.log.warn({ keyId: d.keyId, dependentId: d.dependentId }, "sweeper found a dependent linked during its key's revocation and never told; telling it");
    }
    last = d;
  }
  return last ? { createdAt: last.createdAt, dependentId: last.dependentId } : cursor;
}

/** Retries the announcements to the verifiers that could not be made when the key was revoked. */
async function announcePending(deps: JobDeps, olderThan: Date, report: SweepReport): Promise<void> {
  for (const { keyId } of await deps.keyRepo.pendingAnnouncements(olderThan, BATCH)) {
    const key = await deps.keyRepo.findByKeyId(keyId);
    if (!key) continue;
    if ((await deps.keys.announce(key)) === 0) report.announced++;
    else {
      report.announceFailed++;
      break; // Redis is unreachable: the next pass tries again.
    }
  }
}

/**
 * One pass of the sweeper: for every unfinished notification older than SWEEP_GRACE_MS,
 * make sure work exists that will finish it. Safe in any number of processes at once:
 * every enqueue uses the job's fixed id (BullMQ ignores an add whose id exists) and every
 * MongoDB change is conditional, so running twice never notifies twice.
 */
export async function sweep(deps: JobDeps, cursors: SweepCursors = {}): Promise<SweepReport> {
  const { queues, notifications, deliveries, config, log } = deps;
  const report: SweepReport = {
    checked: 0,
    revocationsCompleted: 0,
    lateDependents: 0,
    announced: 0,
    announceFailed: 0,
    revocationsEnqueued: 0,
    webhooksEnqueued: 0,
    deliveriesFailed: 0,
    cursors: {},
  };
  const olderThan = new Date(deps.clock.now() - config.SWEEP_GRACE_MS);
  report.cursors.revocations = await completeRevocations(deps, olderThan, cursors.revocations, report);
  await announcePending(deps, olderThan, report);
  report.cursors.dependents = await tellLateDependents(deps, olderThan, cursors.dependents, report);
  const due = await notifications.unfinished(olderThan, BATCH, cursors.notifications);
  const last = due[due.length - 1];
  if (due.length === BATCH && last) report.cursors.notifications = { pendingSince: last.pendingSince, keyId: last.keyId };
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

    // The fan-out ran; every delivery it left pending (a failed first attempt, a late
    // dependent) must still have a live webhook job.
    for (const d of await deliveries.pendingForKey(key.keyId)) {
      const id = webhookJobId(d.keyId, d.dependentId);
      const whState = await queues.webhooks.getJobState(id);
      if (whState === 'unknown') {
        await queues.webhooks.add(
          'webhook',
          { keyId: d.keyId, communityId: d.communityId, dependentId: d.dependentId, deliveryId: d.deliveryId, after: d.attempts.length },
          webhookJobOptions(config, d.keyId, d.dependentId, d.attempts.length),
        );
        report.webhooksEnqueued++;
      } else if (whState === 'failed') {
        const job = await queues.webhooks.getJob(id);
        const reason = job?.failedReason ? `gave up: ${job.failedReason}` : 'gave up';
        if (await deliveries.finishWithoutAttempt(d, 'failed', reason)) {
          report.deliveriesFailed++;
          await advanceNotification(deps, key.keyId, 'failed');
        }
      }
    }
    await advanceNotification(deps, key.keyId);
  }
  if (
    report.revocationsCompleted ||
    report.lateDependents ||
    report.announced ||
    report.announceFailed ||
    report.revocationsEnqueued ||
    report.webhooksEnqueued ||
    report.deliveriesFailed
  )
    log.info({ ...report, cursors: undefined }, 'sweep');
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
  let cursors: SweepCursors = {};
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, Math.round(deps.config.SWEEP_INTERVAL_MS * (0.9 + 0.2 * Math.random())));
  };
  const tick = () => {
    running = sweep(deps, cursors)
      .then((r) => {
        cursors = r.cursors;
      })
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
