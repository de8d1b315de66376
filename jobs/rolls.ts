import { UnrecoverableError, type Job } from 'bullmq';
import type { KeyRecord } from '../src/keys/key-record.js';
import type { JobDeps } from './context.js';
import { enqueueRoll, rollJobId, rollWebhookId, rollWebhookJobOptions, type RollJobData } from './queues.js';
import type { WebhookSender } from './webhook-sender.js';
import { signedHeaders } from './webhooks.js';

/** What a dependent receives when its key was rolled: pick up the new secret before `previousValidUntil`. */
export interface ApiKeyRolledEvent {
  type: 'api_key.rolled';
  timestamp: string;
  data: { keyId: string; name: string; communityId: string; rolledAt: string; previousValidUntil: string };
}

export const rolledEvent = (name: string, d: RollJobData): ApiKeyRolledEvent => ({
  type: 'api_key.rolled',
  timestamp: d.rolledAt,
  data: { keyId: d.keyId, name, communityId: d.communityId, rolledAt: d.rolledAt, previousValidUntil: d.previousValidUntil },
});

/** The job data of a roll just made (KeyService's onRolled listener gets the key after it). */
export const rollData = (key: KeyRecord): RollJobData => ({
  keyId: key.keyId,
  communityId: key.communityId,
  rolledAt: (key.rolledAt ?? new Date(0)).toISOString(),
  previousValidUntil: (key.previousValidUntil ?? key.rolledAt ?? new Date(0)).toISOString(),
});

export type RollDeps = JobDeps & { sender: WebhookSender };

/**
 * `fanout`: one webhook job per active dependent (ids per roll and dependent, so running it
 * again adds nothing twice). `webhook`: the signed POST of `api_key.rolled`; 2xx or 410 ends
 * it, a refused address fails it for good, anything else is retried on the webhook schedule.
 */
export async function processRoll(job: Job<RollJobData>, deps: RollDeps): Promise<string> {
  const d = job.data;
  if (job.name === 'fanout') {
    const dependents = await deps.dependents.activeForKey(d.keyId);
    if (dependents.length) {
      await deps.queues.rolls.addBulk(
        dependents.map((dep) => ({
          name: 'webhook' as const,
          data: { ...d, dependentId: dep.dependentId },
          opts: rollWebhookJobOptions(deps.config, d, dep.dependentId),
        })),
      );
    }
    deps.log.info({ keyId: d.keyId, dependents: dependents.length }, 'roll fanned out');
    return `fanned out to ${dependents.length}`;
  }
  const dependent = await deps.dependents.findForSigning(d.dependentId ?? '');
  if (!dependent || dependent.status !== 'active') return 'gone';
  const key = await deps.keyRepo.findByKeyId(d.keyId);
  if (!key) throw new UnrecoverableError(`API key ${d.keyId} does not exist`);
  const body = JSON.stringify(rolledEvent(key.name, d));
  const outcome = await deps.sender.post(
    dependent.webhookUrl,
    body,
    signedHeaders(dependent.signingSecret, rollWebhookId(d, dependent.dependentId), body, new Date()),
  );
  if (outcome.status !== undefined && ((outcome.status >= 200 && outcome.status < 300) || outcome.status === 410)) return String(outcome.status);
  deps.log.warn(
    { keyId: d.keyId, dependentId: dependent.dependentId, status: outcome.status, err: outcome.error, attempt: job.attemptsMade + 1 },
    'roll webhook attempt failed',
  );
  if (outcome.blocked) throw new UnrecoverableError(outcome.error ?? 'refused address');
  throw new Error(outcome.error ?? 'roll webhook failed');
}

/** Rolls younger than this are checked by the net; finished jobs are kept 7 days, so a re-add is a no-op. */
const NET_WINDOW_MS = 6 * 24 * 3600 * 1000;

/**
 * The net: every roll recorded in the audit trail in the last 6 days has its fan-out job
 * (the API process could not reach Redis when it rolled, or died before enqueueing).
 */
export async function ensureRollFanouts(deps: JobDeps): Promise<number> {
  const now = deps.clock.now();
  let added = 0;
  for (const r of await deps.audit.rollsSince(new Date(now - NET_WINDOW_MS), 500)) {
    if (now - r.at.getTime() < deps.config.SWEEP_GRACE_MS) continue;
    const d: RollJobData = {
      keyId: r.keyId,
      communityId: r.communityId,
      rolledAt: r.at.toISOString(),
      previousValidUntil: r.previousValidUntil ?? r.at.toISOString(),
    };
    if ((await deps.queues.rolls.getJobState(rollJobId(d))) === 'unknown') {
      await enqueueRoll(deps.queues.rolls, d);
      added++;
    }
  }
  return added;
}
