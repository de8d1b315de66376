import { UnrecoverableError, type Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import type { DeliveryAttempt, DeliveryState } from '../src/dependents/delivery-repository.js';
import { webhookOutcomes } from '../src/observability/metrics.js';
import type { Leak } from '../src/keys/revoke-reason.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import type { JobDeps } from './context.js';
import { advanceNotification } from './notices.js';
import type { WebhookJobData } from './queues.js';
import type { WebhookSender } from './webhook-sender.js';

/** The event every dependent receives (README "Revocation notifications"). */
export interface ApiKeyRevokedEvent {
  type: 'api_key.revoked';
  timestamp: string;
  data: {
    keyId: string;
    name: string;
    communityId: string;
    roles: string[];
    revokedAt: string;
    revokedBy: string | null;
    /** Why: `compromised`, `no_longer_used`, `replaced`, `leaked`, or a person's free text; absent when none was given. */
    reason?: string;
    /** A leaked key: where it was found (GitHub: the URL; Slack: the conversation and message). */
    leak?: Leak;
  };
}

/** The body is the same on every attempt; only `webhook-timestamp` and the signature change. */
export function revokedEvent(key: KeyRecord): ApiKeyRevokedEvent {
  const revokedAt = (key.revokedAt ?? new Date()).toISOString();
  return {
    type: 'api_key.revoked',
    timestamp: revokedAt,
    data: {
      keyId: key.keyId,
      name: key.name,
      communityId: key.communityId,
      roles: key.roles,
      revokedAt,
      revokedBy: key.revokedBy ?? null,
      ...(key.reason ? { reason: key.reason } : {}),
      ...(key.leak ? { leak: key.leak } : {}),
    },
  };
}

/** What a dependent receives when a key reached its expiry instant. */
export interface ApiKeyExpiredEvent {
  type: 'api_key.expired';
  timestamp: string;
  data: { keyId: string; name: string; communityId: string; roles: string[]; expiredAt: string };
}

export function expiredEvent(key: KeyRecord): ApiKeyExpiredEvent {
  const expiredAt = (key.expiresAt ?? new Date(0)).toISOString();
  return {
    type: 'api_key.expired',
    timestamp: expiredAt,
    data: { keyId: key.keyId, name: key.name, communityId: key.communityId, roles: key.roles, expiredAt },
  };
}

/** The end of a key's life its notification announces. */
export const endEvent = (key: KeyRecord): ApiKeyRevokedEvent | ApiKeyExpiredEvent =>
  key.status !== 'revoked' && key.notification.event === 'expired' ? expiredEvent(key) : revokedEvent(key);

/** Standard Webhooks headers: `webhook-signature` is `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`. */
export function signedHeaders(secret: string, webhookId: string, body: string, at = new Date()): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(webhookId, at, body),
  };
}

export type WebhookDeps = JobDeps & { sender: WebhookSender; revokedKeys: RevokedKeyCache };

/**
 * Revoked keys by keyId, for the webhooks of one fan-out: a revoked key never changes
 * again, so each worker process reads it once instead of once per dependent.
 */
export class RevokedKeyCache {
  private readonly keys = new Map<string, KeyRecord>();
  constructor(private readonly max = 1_000) {}

  async get(keyId: string, load: (keyId: string) => Promise<KeyRecord | undefined>): Promise<KeyRecord | undefined> {
    const hit = this.keys.get(keyId);
    if (hit) return hit;
    const key = await load(keyId);
    if (key?.status === 'revoked' || key?.notification.event === 'expired') {
      if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(keyId, key);
    }
    return key;
  }
}

export type WebhookResult = DeliveryState | 'already_final';

/**
 * Sends one webhook. 2xx: delivered. 410: the dependent asked to be removed (marked gone,
 * no retry). A refused address: failed, no retry. Anything else throws so BullMQ retries on
 * the configured schedule; the last attempt marks the delivery failed before throwing.
 * Every attempt is recorded on the Delivery; a delivery already final is never sent again.
 */
export async function processWebhook(job: Job<WebhookJobData>, deps: WebhookDeps): Promise<WebhookResult> {
  const { deliveryId, dependentId, keyId } = job.data;
  const log = deps.log.child({ jobId: job.id, keyId, dependentId, communityId: job.data.communityId });
  const delivery = await deps.deliveries.find(deliveryId);
  if (!delivery || delivery.state !== 'pending') return 'already_final';

  const dependent = await deps.dependents.findForSigning(dependentId);
  if (!dependent || dependent.status !== 'active') {
    const why = !dependent ? 'the dependent no longer exists' : `the dependent was ${dependent.status} before delivery`;
    if (await deps.deliveries.finishWithoutAttempt(deliveryId, 'gone', why)) await advanceNotification(deps, keyId, 'gone');
    return 'gone';
  }
  const key = await deps.revokedKeys.get(keyId, (id) => deps.keyRepo.findByKeyId(id));
  if (!key) throw new UnrecoverableError(`API key ${keyId} does not exist`);

  const body = JSON.stringify(endEvent(key));
  const at = new Date();
  const outcome = await deps.sender.post(dependent.webhookUrl, body, signedHeaders(dependent.signingSecret, deliveryId, body, at));
  const attempt: DeliveryAttempt = { at, status: outcome.status, error: outcome.error, durationMs: outcome.durationMs };
  const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;

  if (ok || outcome.status === 410) {
    const state = ok ? 'delivered' : 'gone';
    if (state === 'gone') attempt.error = 'the receiver answered 410 Gone';
    webhookOutcomes.inc({ outcome: state });
    if (await deps.deliveries.recordAttempt(deliveryId, attempt, state)) {
      if (state === 'gone' && (await deps.dependents.setStatus(dependentId, 'active', 'gone'))) {
        await deps.audit.record({
          communityId: dependent.communityId,
          actor: 'keywarden',
          action: 'dependent.gone',
          target: keyId,
          details: { dependentId, name: dependent.name },
        });
      }
      await advanceNotification(deps, keyId, state);
    }
    log.info({ state, status: outcome.status, attempt: job.attemptsMade + 1, ms: outcome.durationMs }, 'webhook finished');
    return state;
  }

  const last = outcome.blocked || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  webhookOutcomes.inc({ outcome: last ? 'failed' : 'retrying' });
  const recorded = await deps.deliveries.recordAttempt(deliveryId, attempt, last ? 'failed' : undefined);
  log.warn({ status: outcome.status, err: outcome.error, attempt: job.attemptsMade + 1, of: job.opts.attempts, final: last }, 'webhook attempt failed');
  // Someone else finished it meanwhile (a duplicate run after a stall): nothing to retry.
  if (!recorded) return 'already_final';
  if (last) await advanceNotification(deps, keyId, 'failed');
  if (outcome.blocked) throw new UnrecoverableError(outcome.error ?? 'refused address');
  throw new Error(outcome.error ?? 'webhook failed');
}
