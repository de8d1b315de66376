import type { Models } from './mongo.js';
import type { DeliveryDoc, DeliveryLogDoc } from './models/delivery.js';
import { BatchedInserter, insertCommand } from './batched-inserter.js';
import {
  countDeliveries,
  type DeliveryAttempt,
  type DeliveryCounts,
  type DeliveryProgress,
  type DeliveryRecord,
  type DeliveryState,
  type FinalState,
  type NewDelivery,
} from '../dependents/delivery-record.js';

/** The log's id of attempt `n` of a delivery, and of its end. */
const attemptId = (deliveryId: string, n: number) => `${deliveryId}#${n}`;
const endId = (deliveryId: string) => `${deliveryId}#end`;

type LogRow = Pick<DeliveryLogDoc, 'd' | 'n' | 'f' | 'at' | 's' | 'e' | 'ms'>;
/** A delivery record as written: who is to be told and, when written with its first attempt, that attempt and its end. */
type RecordDoc = NewDelivery & {
  _id: string;
  createdAt: Date;
  state?: DeliveryState;
  attempts?: DeliveryAttempt[];
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: Date;
};
type DeliveryRow = Pick<DeliveryDoc, 'communityId' | 'deliveryId' | 'keyId' | 'dependentId' | 'dependentName' | 'createdAt'> & Partial<DeliveryDoc>;

/**
 * A delivery as stored (its record) and what its log says. Deliveries written before the
 * log carry their state and attempts in the record itself; both are honoured. The end entry
 * is also the last attempt when it has a number (written so since the attempt that finishes
 * a delivery is one insert); an attempt entry of the same number, from a duplicate run that
 * did not finish it, is not listed twice.
 */
function toRecord(d: DeliveryRow, log: LogRow[] = []): DeliveryRecord {
  const legacy = (d.attempts ?? []).map((a) => ({ at: a.at!, status: a.status ?? undefined, error: a.error ?? undefined, durationMs: a.durationMs ?? 0 }));
  const end = log.find((l) => l.f);
  const logged = log
    .filter((l) => l.n != null && (l === end || l.n !== end?.n))
    .sort((a, b) => a.n! - b.n!)
    .map((l) => ({ at: l.at, status: l.s ?? undefined, error: l.e ?? undefined, durationMs: l.ms ?? 0 }));
  const attempts = [...legacy, ...logged];
  const last = attempts[attempts.length - 1];
  const state: DeliveryState = end?.f ?? d.state ?? 'pending';
  const lastError = end?.e ?? (logged.length ? last?.error : (d.lastError ?? undefined));
  return {
    communityId: d.communityId,
    deliveryId: d.deliveryId,
    keyId: d.keyId,
    dependentId: d.dependentId,
    dependentName: d.dependentName,
    state,
    attempts,
    lastStatus: logged.length ? last?.status : (d.lastStatus ?? undefined),
    lastError,
    deliveredAt: end?.f === 'delivered' ? end.at : (d.deliveredAt ?? undefined),
    createdAt: d.createdAt,
  };
}

/** How long outcomes wait to be written together, and the most written at once. */
const LOG_BATCH = { lingerMs: 5, maxBatch: 500 };
/** Delivery records and fan-out claims: gathered over 2 ms, at most 500 per insertMany. */
const RECORD_BATCH = { lingerMs: 2, maxBatch: 500 };

/**
 * Deliveries in MongoDB. A record per (key, dependent), created once in batches; then only
 * inserts into the delivery log, gathered over a few milliseconds by one writer per process
 * (see {@link BatchedInserter}): an attempt per POST, and the end that decides, once, how it
 * finished. Nothing is ever updated in place.
 */
export class DeliveryRepository {
  private readonly log: BatchedInserter<DeliveryLogDoc>;
  /** Records and fan-out claims of concurrent fan-outs (a mass revocation) go in shared batches too. */
  private readonly records: BatchedInserter<RecordDoc>;
  private readonly claims: BatchedInserter<{ _id: string; at: Date }>;

  constructor(private readonly m: Models) {
    // The insert command itself: string `_id`s as given, nothing cast or validated per document.
    const db = () => m.deliveries.db.db;
    this.log = new BatchedInserter(insertCommand(db, m.deliveryLog.collection.collectionName), LOG_BATCH);
    this.records = new BatchedInserter(insertCommand(db, m.deliveries.collection.collectionName), RECORD_BATCH);
    this.claims = new BatchedInserter(insertCommand(db, m.fanoutClaims.collection.collectionName), RECORD_BATCH);
  }

  /**
   * Creates the deliveries that do not exist yet (unique deliveryId); existing ones are left
   * as they are. Stored under `_id` = deliveryId, read back by `_id` alone (the one filter
   * FerretDB pushes down), with those of other fan-outs of the next few milliseconds.
   */
  async ensure(rows: NewDelivery[]): Promise<void> {
    const at = new Date();
    await Promise.all(rows.map((r) => this.records.insert({ _id: r.deliveryId, ...r, createdAt: at })));
  }

  /** Claims the first run of a key's fan-out: true once per key; false for every re-run. */
  async claimFanout(keyId: string): Promise<boolean> {
    return (await this.claims.insert({ _id: keyId, at: new Date() })) === 'inserted';
  }

  /**
   * A delivery's record by its `_id` (the deliveryId); records written before that was so
   * have an ObjectId and are found by a scan.
   */
  private async record(deliveryId: string): Promise<DeliveryRow | undefined> {
    const byId = await this.m.deliveries.collection.findOne({ _id: deliveryId as never });
    if (byId) return byId as unknown as DeliveryRow;
    return (await this.m.deliveries.findOne({ deliveryId }).lean<DeliveryRow>()) ?? undefined;
  }

  async find(deliveryId: string): Promise<DeliveryRecord | undefined> {
    const d = await this.record(deliveryId);
    if (!d) return undefined;
    return toRecord(d, await this.m.deliveryLog.find({ d: deliveryId }).lean<LogRow[]>());
  }

  /** Whether the delivery exists, and how it finished (one read by `_id` each). */
  async status(deliveryId: string): Promise<{ exists: boolean; final?: FinalState }> {
    const [d, end] = await Promise.all([
      this.record(deliveryId),
      this.m.deliveryLog.findOne({ _id: endId(deliveryId) }, { f: 1 }).lean<Pick<DeliveryLogDoc, 'f'>>(),
    ]);
    const legacy = d?.state && d.state !== 'pending' ? d.state : undefined;
    return { exists: !!d, final: end?.f ?? legacy };
  }

  /** Which of these deliveries exist. */
  async existing(deliveryIds: string[]): Promise<Set<string>> {
    if (deliveryIds.length === 0) return new Set();
    const rows = await this.m.deliveries.find({ deliveryId: { $in: deliveryIds } }, { deliveryId: 1 }).lean<DeliveryDoc[]>();
    return new Set(rows.map((r) => r.deliveryId));
  }

  async forKey(keyId: string): Promise<DeliveryRecord[]> {
    const [rows, log] = await Promise.all([
      this.m.deliveries.find({ keyId }).sort({ createdAt: 1, dependentName: 1, deliveryId: 1 }).lean<DeliveryRow[]>(),
      this.m.deliveryLog.find({ k: keyId }).lean<LogRow[]>(),
    ]);
    const byDelivery = new Map<string, LogRow[]>();
    for (const l of log) byDelivery.set(l.d, [...(byDelivery.get(l.d) ?? []), l]);
    return rows.map((d) => toRecord(d, byDelivery.get(d.deliveryId)));
  }

  async pendingForKey(keyId: string): Promise<DeliveryRecord[]> {
    return (await this.forKey(keyId)).filter((d) => d.state === 'pending');
  }

  /** Attempts made and final state of every delivery of a key that got anywhere. */
  async progress(keyId: string): Promise<Map<string, DeliveryProgress>> {
    const [records, log] = await Promise.all([
      this.m.deliveries.find({ keyId }, { _id: 0, deliveryId: 1, state: 1, attempts: 1 }).lean<Array<Pick<DeliveryDoc, 'deliveryId' | 'state' | 'attempts'>>>(),
      this.m.deliveryLog.find({ k: keyId }, { _id: 0, d: 1, n: 1, f: 1 }).lean<LogRow[]>(),
    ]);
    const out = new Map<string, DeliveryProgress>();
    const of = (id: string) => out.get(id) ?? out.set(id, { attempts: 0 }).get(id)!;
    // The record's own: a first attempt written with it, or a delivery from before the log.
    for (const d of records) {
      const attempts = d.attempts?.length ?? 0;
      const final = d.state && d.state !== 'pending' ? d.state : undefined;
      if (attempts === 0 && !final) continue;
      const p = of(d.deliveryId);
      p.attempts = attempts;
      if (final) p.final = final;
    }
    for (const l of log) {
      const p = of(l.d);
      if (l.f) p.final = l.f;
      if (l.n) p.attempts = Math.max(p.attempts, l.n);
    }
    return out;
  }

  /**
   * Records a delivery's first attempt in the same insert as the delivery itself (the
   * fan-out's path: one document per dependent, not a record and then a log entry). The
   * record carries the attempt and, when the attempt decided it, the final state; nothing
   * on it ever changes after. Returns true when this call recorded the attempt and, if it
   * finishes the delivery, finished it — false when someone else had already finished it.
   *
   * The insert of the record decides, like the log's `#end`: when the record already exists
   * (created by an earlier run or a late link, or by a duplicate run a moment before), the
   * attempt goes to the log as {@link recordAttempt} writes it — unless that record itself
   * says how the delivery ended, which never changes once inserted.
   */
  async recordFirstAttempt(d: NewDelivery & { createdAt: Date }, attempt: DeliveryAttempt, finish?: FinalState): Promise<boolean> {
    // Absent fields left out, not written as null.
    const stored: DeliveryAttempt = { at: attempt.at, durationMs: attempt.durationMs };
    const doc: RecordDoc = {
      _id: d.deliveryId,
      communityId: d.communityId,
      deliveryId: d.deliveryId,
      keyId: d.keyId,
      dependentId: d.dependentId,
      dependentName: d.dependentName,
      createdAt: d.createdAt,
      state: finish ?? 'pending',
      attempts: [stored],
    };
    if (attempt.status !== undefined) doc.lastStatus = stored.status = attempt.status;
    if (attempt.error !== undefined) doc.lastError = stored.error = attempt.error;
    if (finish === 'delivered') doc.deliveredAt = attempt.at;
    if ((await this.records.insert(doc)) === 'inserted') return true;
    if ((await this.status(d.deliveryId)).final) return false;
    return this.recordAttempt(d, 1, attempt, finish);
  }

  /**
   * Records attempt `n` of a delivery, and optionally finishes it. Returns false when it
   * was already final (someone else finished it first): a duplicate run then never counts
   * or reports twice. An attempt that finishes the delivery is its end entry (one insert,
   * `#end` with the attempt's fields), any other is `#n`. Written with other outcomes of the
   * next few milliseconds.
   */
  async recordAttempt(d: { deliveryId: string; keyId: string }, n: number, attempt: DeliveryAttempt, finish?: FinalState): Promise<boolean> {
    const entry: DeliveryLogDoc = {
      _id: finish ? endId(d.deliveryId) : attemptId(d.deliveryId, n),
      d: d.deliveryId,
      k: d.keyId,
      n,
      at: attempt.at,
      ms: attempt.durationMs,
    };
    if (finish) entry.f = finish;
    if (attempt.status !== undefined) entry.s = attempt.status;
    if (attempt.error !== undefined) entry.e = attempt.error;
    const wrote = await this.log.insert(entry);
    return !finish || wrote === 'inserted';
  }

  /** Finishes a pending delivery without an attempt (e.g. its job failed for good elsewhere). */
  async finishWithoutAttempt(d: { deliveryId: string; keyId: string }, state: FinalState, error: string): Promise<boolean> {
    return (await this.log.insert({ _id: endId(d.deliveryId), d: d.deliveryId, k: d.keyId, f: state, at: new Date(), e: error })) === 'inserted';
  }

  async counts(keyId: string): Promise<DeliveryCounts> {
    const [rows, ends] = await Promise.all([
      this.m.deliveries.find({ keyId }, { _id: 0, deliveryId: 1, state: 1 }).lean<Array<Pick<DeliveryDoc, 'deliveryId' | 'state'>>>(),
      this.m.deliveryLog.find({ k: keyId, f: { $exists: true } }, { _id: 0, d: 1, f: 1 }).lean<LogRow[]>(),
    ]);
    const final = new Map(ends.map((e) => [e.d, e.f!]));
    return countDeliveries(rows.map((r) => ({ state: final.get(r.deliveryId) ?? r.state ?? 'pending' })));
  }

  /** Writes the outcomes still waiting to be written (at shutdown). */
  async flush(): Promise<void> {
    await Promise.all([this.records.close(), this.claims.close(), this.log.close()]);
  }
}
