import { createHmac } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import type { DeliveryAttempt, DeliveryState, FinalState } from '../src/dependents/delivery-record.js';
import { webhookOutcomes } from '../src/observability/metrics.js';
import type { Leak } from '../src/keys/revoke-reason.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import type { JobDeps } from './context.js';
import { advanceNotification } from './notices.js';
import type { WebhookJobData } from './queues.js';
import type { PostOutcome, WebhookSender } from './webhook-sender.js';

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

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_` + base64), decoded as the
 * standardwebhooks library decodes it; undefined unless it is canonical base64 (then the
 * library signs, with its own checks).
 */
function hmacKey(secret: string): Buffer | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(b64, 'base64');
  return key.length > 0 && key.toString('base64') === b64 ? key : undefined;
}

/**
 * Standard Webhooks headers: `webhook-signature` is `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`.
 * Signed with node:crypto (the library's pure-JS SHA-256 cost a fan-out of 1,000 about
 * ten times as much CPU); the same bytes as `new Webhook(secret).sign(…)` (test/unit/jobs/signing.test.ts).
 */
export function signedHeaders(secret: string, webhookId: string, body: string, at = new Date()): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  const key = hmacKey(secret);
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': key
      ? `v1,${createHmac('sha256', key).update(`${webhookId}.${timestamp}.${body}`).digest('base64')}`
      : new Webhook(secret).sign(webhookId, at, body),
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

/** The delivery an outcome belongs to. */
export interface DeliveryTarget {
  deliveryId: string;
  keyId: string;
  dependentId: string;
  communityId: string;
  dependentName: string;
}

/** What recording an outcome came to: final (and whether this call finished it), or to be retried. */
export type Settled = { state: Exclude<DeliveryState, 'pending'>; finished: boolean } | { state: 'retry' };

/**
 * Records attempt `n` of a delivery and what it means. 2xx: delivered. 410: the dependent
 * asked to be removed (marked gone, audited, no retry). A refused address or the last
 * attempt: failed. Anything else: to be retried. `finished` is false when someone else had
 * already finished the delivery (a duplicate run): then nothing is counted or reported.
 * `createdAt`: the fan-out's first attempt, written with the delivery's record in one insert
 * (DeliveryRepository.recordFirstAttempt); otherwise the attempt goes to the delivery log.
 */
export async function settleAttempt(
  deps: JobDeps,
  t: DeliveryTarget,
  n: number,
  at: Date,
  outcome: PostOutcome,
  last: boolean,
  createdAt?: Date,
): Promise<Settled> {
  const record = (attempt: DeliveryAttempt, finish?: FinalState) =>
    createdAt ? deps.deliveries.recordFirstAttempt({ ...t, createdAt }, attempt, finish) : deps.deliveries.recordAttempt(t, n, attempt, finish);
  const attempt: DeliveryAttempt = { at, status: outcome.status, error: outcome.error, durationMs: outcome.durationMs };
  const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
  if (ok || outcome.status === 410) {
    const state = ok ? 'delivered' : 'gone';
    if (state === 'gone') attempt.error = 'the receiver answered 410 Gone';
    webhookOutcomes.inc({ outcome: state });
    const finished = await record(attempt, state);
    if (finished && state === 'gone' && (await deps.dependents.setStatus(t.dependentId, 'active', 'gone'))) {
      await deps.audit.record({
        communityId: t.communityId,
        actor: 'keywarden',
        action: 'dependent.gone',
        target: t.keyId,
        details: { dependentId: t.dependentId, name: t.dependentName },
      });
    }
    return { state, finished };
  }
  const final = outcome.blocked || last;
  webhookOutcomes.inc({ outcome: final ? 'failed' : 'retrying' });
  const recorded = await record(attempt, final ? 'failed' : undefined);
  return final ? { state: 'failed', finished: recorded } : { state: 'retry' };
}

/**
 * One retry of a webhook (the fan-out makes the first attempt itself; late dependents and
 * the sweeper's re-sends start here at attempt 1). Anything but delivered, gone or failed
 * for good throws so BullMQ retries on the configured schedule. A delivery already final
 * is never sent again.
 */
export async function processWebhook(job: Job<WebhookJobData>, deps: WebhookDeps): Promise<WebhookResult> {
  const { deliveryId, dependentId, keyId } = job.data;
  const log = deps.log.child({ jobId: job.id, keyId, dependentId, communityId: job.data.communityId });
  const status = await deps.deliveries.status(deliveryId);
  if (!status.exists || status.final) return 'already_final';

  const dependent = await deps.dependents.findForSigning(dependentId);
  const target: DeliveryTarget = { deliveryId, keyId, dependentId, communityId: job.data.communityId, dependentName: dependent?.name ?? dependentId };
  if (!dependent || dependent.status !== 'active') {
    const why = !dependent ? 'the dependent no longer exists' : `the dependent was ${dependent.status} before delivery`;
    if (await deps.deliveries.finishWithoutAttempt(target, 'gone', why)) await advanceNotification(deps, keyId, 'gone');
    return 'gone';
  }
  const key = await deps.revokedKeys.get(keyId, (id) => deps.keyRepo.findByKeyId(id));
  if (!key) throw new UnrecoverableError(`API key ${keyId} does not exist`);

  const body = JSON.stringify(endEvent(key));
  const at = new Date();
  const outcome = await deps.sender.post(dependent.webhookUrl, body, signedHeaders(dependent.signingSecret, deliveryId, body, at));
  const n = (job.data.after ?? 0) + job.attemptsMade + 1;
  const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const settled = await settleAttempt(deps, target, n, at, outcome, last);
  if (settled.state === 'retry') {
    log.warn({ status: outcome.status, err: outcome.error, attempt: n, final: false }, 'webhook attempt failed');
    throw new Error(outcome.error ?? 'webhook failed');
  }
  log.info({ state: settled.state, status: outcome.status, attempt: n, ms: outcome.durationMs }, 'webhook finished');
  // Someone else finished it meanwhile (a duplicate run after a stall): nothing to report.
  if (!settled.finished) return 'already_final';
  await advanceNotification(deps, keyId, settled.state);
  if (settled.state === 'failed' && outcome.blocked) throw new UnrecoverableError(outcome.error ?? 'refused address');
  if (settled.state === 'failed') throw new Error(outcome.error ?? 'webhook failed');
  return settled.state;
}
