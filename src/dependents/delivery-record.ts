/**
 * The domain's records of webhook deliveries: one per (revoked key, dependent), its attempts and
 * its outcome. The store maps its documents and delivery log to these.
 */
export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'gone';
export type FinalState = Exclude<DeliveryState, 'pending'>;

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

export type NewDelivery = Pick<DeliveryRecord, 'communityId' | 'deliveryId' | 'keyId' | 'dependentId' | 'dependentName'>;

export interface DeliveryCounts {
  total: number;
  pending: number;
  delivered: number;
  failed: number;
  gone: number;
}

/** The counts of a revocation's deliveries as read. */
export function countDeliveries(rows: Array<Pick<DeliveryRecord, 'state'>>): DeliveryCounts {
  const c: DeliveryCounts = { total: rows.length, pending: 0, delivered: 0, failed: 0, gone: 0 };
  for (const r of rows) c[r.state]++;
  return c;
}

/** How far a delivery got, as a re-run of its fan-out needs to know. */
export interface DeliveryProgress {
  attempts: number;
  final?: FinalState;
}
