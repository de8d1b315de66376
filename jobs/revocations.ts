import { UnrecoverableError, type Job } from 'bullmq';
import type { JobDeps } from './context.js';
import { advanceNotification, postNotices } from './notices.js';
import { deliveryIdFor, webhookJobOptions, type RevocationJobData } from './queues.js';

const ADD_BULK_SLICE = 500;

/** What a revocation job reports when it completes. */
export interface RevocationResult {
  deliveries: number;
  enqueued: number;
  skipped?: 'already_done';
}

/**
 * Fans a revocation out: one Delivery per active dependent (created idempotently), one
 * webhook job per pending delivery, then the Slack notice (posted once). Safe to run any
 * number of times for the same key: deliveries are unique per (key, dependent), job ids are
 * too, and finished deliveries are never re-sent.
 */
export async function processRevocation(job: Job<RevocationJobData>, deps: JobDeps): Promise<RevocationResult> {
  const { keyId } = job.data;
  const log = deps.log.child({ jobId: job.id, keyId, communityId: job.data.communityId });
  const key = await deps.keyRepo.findByKeyId(keyId);
  if (!key) throw new UnrecoverableError(`API key ${keyId} does not exist`);
  // The same fan-out announces a revocation and an expiry (notification.event).
  if (key.status !== 'revoked' && key.notification.event !== 'expired') throw new UnrecoverableError(`API key ${keyId} is neither revoked nor expired`);
  if (key.notification.state === 'done') return { deliveries: key.notification.total, enqueued: 0, skipped: 'already_done' };

  const dependents = await deps.dependents.activeForKey(keyId);
  await deps.deliveries.ensure(
    dependents.map((d) => ({
      communityId: key.communityId,
      deliveryId: deliveryIdFor(keyId, d.dependentId),
      keyId,
      dependentId: d.dependentId,
      dependentName: d.name,
    })),
  );
  await deps.notifications.markEnqueued(keyId);
  const deliveries = await deps.deliveries.forKey(keyId);
  const pending = deliveries.filter((d) => d.state === 'pending');
  // In slices, so that one Redis transaction stays small however many dependents a key has.
  for (let i = 0; i < pending.length; i += ADD_BULK_SLICE) {
    await deps.queues.webhooks.addBulk(
      pending.slice(i, i + ADD_BULK_SLICE).map((d) => ({
        name: 'webhook' as const,
        data: { keyId, communityId: key.communityId, dependentId: d.dependentId, deliveryId: d.deliveryId },
        opts: webhookJobOptions(deps.config, keyId, d.dependentId),
      })),
    );
  }
  // After the webhooks are on their way, so that Slack being slow or down never holds them up.
  await postNotices(deps, key, deliveries);
  log.info({ dependents: dependents.length, deliveries: deliveries.length, enqueued: pending.length }, 'revocation fanned out');
  await advanceNotification(deps, keyId);
  return { deliveries: deliveries.length, enqueued: pending.length };
}
