import type { Models } from '../store/mongo.js';
import type { DeliveryDoc } from '../store/models/delivery.js';

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'gone';

/** The delivery's id, sent as `webhook-id`: stable across retries and re-runs. */
export const deliveryIdFor = (keyId: string, dependentId: string) => `msg_${keyId}_${dependentId}`;

/** One POST to a dependent. */
export interface DeliveryAttempt {
  at: Date;
  /** HTTP status, absent when no response came (network error, timeout, refused address). */
  status?: number;
  error?: string;
  durationMs: number;
}

/** One webhook of one revocation to one dependent, and every attempt at it. */
export interface DeliveryRecord {
  communityId: string;
  /** Also the `webhook-id` header: the same on every attempt, so receivers can drop duplicates. */
  deliveryId: string;
  keyId: string;
  dependentId: string;
  dependentName: string;
  state: DeliveryState;
  attempts: DeliveryAttempt[];
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: Date;
  createdAt: Date;
}

export interface DeliveryCounts {
  total: number;
  pending: number;
  delivered: number;
  failed: number;
  gone: number;
}

function toRecord(d: DeliveryDoc): DeliveryRecord {
  return {
    communityId: d.communityId,
    deliveryId: d.deliveryId,
    keyId: d.keyId,
    dependentId: d.dependentId,
    dependentName: d.dependentName,
    state: d.state,
    attempts: (d.attempts ?? []).map((a) => ({ at: a.at!, status: a.status ?? undefined, error: a.error ?? undefined, durationMs: a.durationMs ?? 0 })),
    lastStatus: d.lastStatus ?? undefined,
    lastError: d.lastError ?? undefined,
    deliveredAt: d.deliveredAt ?? undefined,
    createdAt: d.createdAt,
  };
}

/** Deliveries in MongoDB: created idempotently, finished by one conditional update each. */
export class DeliveryRepository {
  constructor(private readonly m: Models) {}

  /** Creates the deliveries that do not exist yet (unique deliveryId); existing ones are left as they are. */
  async ensure(rows: Array<Pick<DeliveryRecord, 'communityId' | 'deliveryId' | 'keyId' | 'dependentId' | 'dependentName'>>): Promise<void> {
    if (rows.length === 0) return;
    const at = new Date();
    await this.m.deliveries.bulkWrite(
      rows.map((r) => ({
        updateOne: {
          filter: { deliveryId: r.deliveryId },
          update: { $setOnInsert: { ...r, state: 'pending', attempts: [], createdAt: at } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  async find(deliveryId: string): Promise<DeliveryRecord | undefined> {
    const d = await this.m.deliveries.findOne({ deliveryId }).lean<DeliveryDoc>();
    return d ? toRecord(d) : undefined;
  }

  /** Which of these deliveries exist. */
  async existing(deliveryIds: string[]): Promise<Set<string>> {
    if (deliveryIds.length === 0) return new Set();
    const rows = await this.m.deliveries.find({ deliveryId: { $in: deliveryIds } }, { deliveryId: 1 }).lean<DeliveryDoc[]>();
    return new Set(rows.map((r) => r.deliveryId));
  }

  async forKey(keyId: string): Promise<DeliveryRecord[]> {
    const rows = await this.m.deliveries.find({ keyId }).sort({ createdAt: 1, dependentName: 1, deliveryId: 1 }).lean<DeliveryDoc[]>();
    return rows.map(toRecord);
  }

  async pendingForKey(keyId: string): Promise<DeliveryRecord[]> {
    const rows = await this.m.deliveries.find({ keyId, state: 'pending' }).lean<DeliveryDoc[]>();
    return rows.map(toRecord);
  }

  /**
   * Records an attempt on a delivery that is still pending, and optionally finishes it.
   * Returns false when the delivery was already final (another worker got there first):
   * then nothing is written, so a duplicate run never counts or reports twice.
   */
  async recordAttempt(deliveryId: string, attempt: DeliveryAttempt, finish?: Exclude<DeliveryState, 'pending'>): Promise<boolean> {
    const set: Record<string, unknown> = { lastStatus: attempt.status ?? null, lastError: attempt.error ?? null };
    if (finish) set.state = finish;
    if (finish === 'delivered') set.deliveredAt = attempt.at;
    const res = await this.m.deliveries.updateOne({ deliveryId, state: 'pending' }, { $push: { attempts: attempt }, $set: set });
    return res.modifiedCount === 1;
  }

  /** Finishes a pending delivery without an attempt (e.g. its job failed for good elsewhere). */
  async finishWithoutAttempt(deliveryId: string, state: Exclude<DeliveryState, 'pending'>, error: string): Promise<boolean> {
    const res = await this.m.deliveries.updateOne({ deliveryId, state: 'pending' }, { $set: { state, lastError: error } });
    return res.modifiedCount === 1;
  }

  /**
   * Whether any is still pending: the cheap check made after every delivery (one indexed
   * document at most, where a count would read every pending one, n times per fan-out).
   */
  async anyPending(keyId: string): Promise<boolean> {
    return (await this.m.deliveries.findOne({ keyId, state: 'pending' }, { _id: 1 }).lean()) !== null;
  }

  /** Whether a revocation has at most `n` deliveries (counts no further than n + 1). */
  async atMost(keyId: string, n: number): Promise<boolean> {
    return (
      (
        await this.m.deliveries
          .find({ keyId }, { _id: 1 })
          .limit(n + 1)
          .lean()
      ).length <= n
    );
  }

  async counts(keyId: string): Promise<DeliveryCounts> {
    const rows = await this.m.deliveries.aggregate<{ _id: DeliveryState; n: number }>([{ $match: { keyId } }, { $group: { _id: '$state', n: { $sum: 1 } } }]);
    const c: DeliveryCounts = { total: 0, pending: 0, delivered: 0, failed: 0, gone: 0 };
    for (const r of rows) {
      c[r._id] = r.n;
      c.total += r.n;
    }
    return c;
  }
}
