import type { Types } from 'mongoose';
import type { DeliveryCounts } from '../dependents/delivery-record.js';
import type { Models } from './mongo.js';
import type { ApiKeyDoc } from './models/api-key.js';
import type { KeyDirectory, ListedRow } from './key-directory.js';
import { KeyUsageRepository } from './key-usage-repository.js';
import { keyIdRef, tokenHashRef } from './models/key-ref.js';
import { encodeCursor, type KeyRecord, type ListPage, type ListQuery } from '../keys/key-record.js';
import type { Leak, RevokeDetails } from '../keys/revoke-reason.js';

/** Escapes every regex metacharacter so user input matches literally. */
export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

type Row = ApiKeyDoc & { _id: Types.ObjectId };

const leakOf = (l: NonNullable<Row['leak']>): Leak => ({
  source: l.source as Leak['source'],
  ...(l.url ? { url: l.url } : {}),
  ...(l.channel ? { channel: l.channel } : {}),
  ...(l.ts ? { ts: l.ts } : {}),
});

function toRecord(d: Row): KeyRecord {
  const n = d.notification ?? { state: 'none' };
  return {
    communityId: d.communityId,
    keyId: d.keyId,
    name: d.name,
    description: d.description,
    roles: [...d.roles],
    status: d.status,
    hint: d.hint,
    createdBy: d.createdBy,
    createdAt: d.createdAt,
    revokedAt: d.revokedAt ?? undefined,
    revokedBy: d.revokedBy ?? undefined,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.leak?.source ? { leak: leakOf(d.leak) } : {}),
    expiresAt: d.expiresAt ?? undefined,
    previousHint: d.previousHint ?? undefined,
    previousValidUntil: d.previousValidUntil ?? undefined,
    rolledAt: d.rolledAt ?? undefined,
    rolledBy: d.rolledBy ?? undefined,
    notification: {
      state: n.state ?? 'none',
      ...(n.event ? { event: n.event } : {}),
      total: n.total ?? 0,
      delivered: n.delivered ?? 0,
      failed: n.failed ?? 0,
      gone: n.gone ?? 0,
      pendingSince: n.pendingSince ?? undefined,
      doneAt: n.doneAt ?? undefined,
    },
    announce: d.announce?.state
      ? { state: d.announce.state, since: d.announce.since ?? undefined }
      : // Revoked before announcements were recorded: that revoke announced before returning.
        { state: d.status === 'revoked' ? 'done' : 'none' },
  };
}

/** Where a key's document is, as a ref says (see models/key-ref.ts). */
interface Ref {
  doc: Types.ObjectId;
  c: string;
}

/** Updates per bulkWrite (see KeyRepository.bulkUpdate). */
const BULK_SLICE = 50;

/** Refs a process keeps (they never change); beyond this many, the oldest are forgotten. */
const REF_CACHE_MAX = 50_000;

/** The secret hashes a key's document holds, each of which has a ref. */
type Secrets = Pick<Row, '_id' | 'keyId' | 'communityId' | 'tokenHash' | 'previousTokenHash' | 'retiredTokenHashes'>;

/** Every ref a key's document should have. */
function refsOf(d: Secrets): Array<{ _id: string; doc: Types.ObjectId; c: string }> {
  const hashes = [d.tokenHash, d.previousTokenHash, ...(d.retiredTokenHashes ?? [])].filter((h): h is string => typeof h === 'string' && h.length > 0);
  return [keyIdRef(d.keyId), ...hashes.map(tokenHashRef)].map((_id) => ({ _id, doc: d._id, c: d.communityId }));
}

/** An unordered insertMany in which an existing `_id` is not an error (refs are written once, by whoever comes first). */
async function insertIgnoringDuplicates(insert: () => Promise<unknown>): Promise<void> {
  try {
    await insert();
  } catch (e) {
    const errors = (e as { writeErrors?: unknown; code?: number }).writeErrors;
    const list = (Array.isArray(errors) ? errors : errors ? [errors] : []) as Array<{ code?: number }>;
    if (list.length === 0 ? (e as { code?: number }).code !== 11000 : list.some((we) => we.code !== 11000)) throw e;
  }
}

/**
 * Writes the refs of every key document that lacks them (documents written by a version
 * before refs existed). Idempotent, safe in several processes at once; run at start-up.
 * Returns how many refs it wrote.
 */
export async function backfillKeyRefs(m: Models): Promise<number> {
  const [keys, have] = await Promise.all([
    m.apiKeys.find({}, { keyId: 1, communityId: 1, tokenHash: 1, previousTokenHash: 1, retiredTokenHashes: 1 }).lean<Secrets[]>(),
    m.keyRefs.find({}, { _id: 1 }).lean<Array<{ _id: string }>>(),
  ]);
  const known = new Set(have.map((r) => r._id));
  const missing = keys.flatMap(refsOf).filter((r) => !known.has(r._id));
  type RawRefs = Parameters<typeof m.keyRefs.collection.insertMany>[0];
  for (let i = 0; i < missing.length; i += 500) {
    await insertIgnoringDuplicates(() => m.keyRefs.collection.insertMany(missing.slice(i, i + 500) as unknown as RawRefs, { ordered: false }));
  }
  return missing.length;
}

/**
 * What a revocation writes: the status, who and why, and the pending notification and
 * announcement (in the same document write, so that neither can be lost whoever dies next).
 */
function revokedFields(by: string, at: Date, details: RevokeDetails, since: Date) {
  return {
    status: 'revoked' as const,
    revokedAt: at,
    revokedBy: by,
    ...(details.reason ? { reason: details.reason } : {}),
    ...(details.leak ? { leak: details.leak } : {}),
    notification: { state: 'pending' as const, pendingSince: at, total: 0, delivered: 0, failed: 0, gone: 0 },
    announce: { state: 'pending' as const, since },
  };
}

/**
 * Keys in MongoDB. On FerretDB v1 (SQLite) only a filter that is exactly `{_id}` is pushed
 * down to SQL; any other is a scan of the whole collection. So every lookup of one key goes
 * through its ref (`key_refs`, by `_id`) to its document (by `_id`), and every update of one
 * key is filtered by exactly its `_id`, with the old conditions (community, status, state)
 * checked in code on the document just read.
 *
 * What that keeps (FerretDB's conditional updates were never atomic: it reads, applies the
 * update in Go, and rewrites the whole document): a revocation is decided by the insert of
 * its audit event with a deterministic id (KeyService), not by this update; `status` is
 * written by {@link revoke} alone and only ever to `revoked`, so nothing here can make a
 * revoked key active; the other transitions (announce, notification) are checked on a
 * fresh read and may, as before, be undone by a concurrent whole-document rewrite, which
 * the sweeper puts right.
 */
export class KeyRepository {
  private readonly refs = new Map<string, Ref>();

  constructor(
    private readonly m: Models,
    /** Serves lists from memory (see key-directory.ts); without it every list queries the database. */
    private readonly directory?: KeyDirectory,
    private readonly usage = new KeyUsageRepository(m),
  ) {}

  /** Adds lastUsedAt from the usage collection (reads by `_id`, in parallel). */
  private async withUsage(records: KeyRecord[]): Promise<KeyRecord[]> {
    if (records.length === 0) return records;
    const at = await this.usage.lastUsed(records.map((r) => r.keyId));
    return records.map((r) => (at.has(r.keyId) ? { ...r, lastUsedAt: at.get(r.keyId) } : r));
  }

  async insert(key: Omit<KeyRecord, 'notification' | 'status' | 'announce'> & { tokenHash: string }): Promise<KeyRecord> {
    const doc = await this.m.apiKeys.create({ ...key, status: 'active', notification: { state: 'none' } });
    const row = doc.toObject() as Row;
    // After the document: a ref never points at a key that was not written. A writer dying
    // between the two leaves a key without refs, which the first lookup by scan completes.
    await this.writeRefs(row);
    await this.directory?.changed(row);
    return toRecord(row);
  }

  /** Writes a document's refs (those already there are left as they are). */
  private async writeRefs(d: Secrets): Promise<void> {
    const refs = refsOf(d);
    type RawRefs = Parameters<typeof this.m.keyRefs.collection.insertMany>[0];
    await insertIgnoringDuplicates(() => this.m.keyRefs.collection.insertMany(refs as unknown as RawRefs, { ordered: false }));
    for (const r of refs) this.remember(r._id, { doc: r.doc, c: r.c });
  }

  private remember(refId: string, ref: Ref): void {
    if (this.refs.size >= REF_CACHE_MAX) this.refs.delete(this.refs.keys().next().value!);
    this.refs.set(refId, ref);
  }

  /** A ref by its `_id` (kept once read: refs never change). */
  private async ref(refId: string, cached = true): Promise<Ref | undefined> {
    const hit = cached ? this.refs.get(refId) : undefined;
    if (hit) return hit;
    const r = await this.m.keyRefs.findOne({ _id: refId }).lean<{ _id: string; doc: Types.ObjectId; c: string }>();
    if (!r) return undefined;
    const ref = { doc: r.doc, c: r.c };
    this.remember(refId, ref);
    return ref;
  }

  /**
   * The document a ref leads to, checked with `matches` (the ref only says where to look).
   * Undefined when the ref leads nowhere (the document is gone). With no ref, `scan` finds
   * the document the slow way (written without refs: by an older version, or by a writer
   * that died before writing them) and its refs are written.
   */
  private async via(refId: string, scan: () => Promise<Row | null>, communityId?: string): Promise<Row | undefined> {
    for (const cached of [true, false]) {
      const ref = await this.ref(refId, cached);
      if (!ref) break;
      if (communityId !== undefined && ref.c !== communityId) return undefined;
      const d = await this.m.apiKeys.findOne({ _id: ref.doc }).lean<Row>();
      if (d) return d;
      // Gone, or a ref kept from a database since replaced: read the ref itself once more.
      this.refs.delete(refId);
      if (!cached) return undefined;
    }
    const d = await scan();
    if (!d) return undefined;
    await this.writeRefs(d);
    return communityId === undefined || d.communityId === communityId ? d : undefined;
  }

  /** A key's document by keyId (and community, when given). */
  private async byKeyId(keyId: string, communityId?: string): Promise<Row | undefined> {
    const d = await this.via(keyIdRef(keyId), () => this.m.apiKeys.findOne({ keyId }).lean<Row>(), communityId);
    return d && d.keyId === keyId && (communityId === undefined || d.communityId === communityId) ? d : undefined;
  }

  /** Writes `set` (and `push`) to one key's document, filtered by exactly its `_id`. */
  private async write(d: Row, set: Record<string, unknown>, push?: Record<string, unknown>): Promise<void> {
    await this.m.apiKeys.updateOne({ _id: d._id }, { $set: set, ...(push ? { $push: push } : {}) });
  }

  async find(communityId: string, keyId: string): Promise<KeyRecord | undefined> {
    const d = await this.byKeyId(keyId, communityId);
    return d ? (await this.withUsage([toRecord(d)]))[0] : undefined;
  }

  /** The keys of one community among these keyIds (one lookup by `_id` each; unknown ones are simply absent). */
  async findMany(communityId: string, keyIds: string[]): Promise<KeyRecord[]> {
    if (keyIds.length === 0) return [];
    const rows = await Promise.all([...new Set(keyIds)].map((id) => this.byKeyId(id, communityId)));
    return this.withUsage(rows.flatMap((d) => (d ? [toRecord(d)] : [])));
  }

  /** Used by the worker, which gets only a keyId in its job data. */
  async findByKeyId(keyId: string): Promise<KeyRecord | undefined> {
    const d = await this.byKeyId(keyId);
    return d ? toRecord(d) : undefined;
  }

  /**
   * The key that holds (or held) a secret with this hash, and which of its secrets it is:
   * the current one, the previous one of a roll, or one ended by a roll. One ref and one
   * document read by `_id`.
   */
  async findBySecret(tokenHash: string): Promise<{ key: KeyRecord; matched: string; which: 'current' | 'previous' | 'retired' } | undefined> {
    const d = await this.via(tokenHashRef(tokenHash), () =>
      this.m.apiKeys.findOne({ $or: [{ tokenHash }, { previousTokenHash: tokenHash }, { retiredTokenHashes: tokenHash }] }).lean<Row>(),
    );
    if (!d) return undefined;
    if (d.tokenHash === tokenHash) return { key: toRecord(d), matched: d.tokenHash, which: 'current' };
    if (d.previousTokenHash === tokenHash) return { key: toRecord(d), matched: d.previousTokenHash, which: 'previous' };
    const retired = (d.retiredTokenHashes ?? []).find((h) => h === tokenHash);
    return retired ? { key: toRecord(d), matched: retired, which: 'retired' } : undefined;
  }

  /** The hashes of a key's live secrets (the roll decides on the current one). */
  async secretsOf(communityId: string, keyId: string): Promise<{ tokenHash: string; previousTokenHash?: string } | undefined> {
    const d = await this.byKeyId(keyId, communityId);
    return d ? { tokenHash: d.tokenHash, previousTokenHash: d.previousTokenHash ?? undefined } : undefined;
  }

  /**
   * Replaces the current secret: the old one becomes the previous one (valid until
   * `previousValidUntil`), and an earlier previous one is retired at once. Undefined when
   * the key is not active or its current secret is no longer `fromHash`.
   */
  async roll(
    communityId: string,
    keyId: string,
    r: { fromHash: string; tokenHash: string; hint: string; previousHint: string; previousValidUntil: Date; retire?: string; at: Date; by: string },
  ): Promise<KeyRecord | undefined> {
    const d = await this.byKeyId(keyId, communityId);
    if (!d || d.status !== 'active' || d.tokenHash !== r.fromHash) return undefined;
    // The new hash's ref first: a ref to a document that does not (yet) hold the hash finds nothing.
    await this.writeRefs({ ...d, tokenHash: r.tokenHash, previousTokenHash: undefined, retiredTokenHashes: undefined });
    await this.write(
      d,
      {
        tokenHash: r.tokenHash,
        hint: r.hint,
        previousTokenHash: r.fromHash,
        previousHint: r.previousHint,
        previousValidUntil: r.previousValidUntil,
        rolledAt: r.at,
        rolledBy: r.by,
      },
      r.retire ? { retiredTokenHashes: r.retire } : undefined,
    );
    const after = await this.m.apiKeys.findOne({ _id: d._id }).lean<Row>();
    if (after) await this.directory?.changed(after);
    return after ? toRecord(after) : undefined;
  }

  /**
   * A page of a community's keys, newest first, with keyset cursors. The key directory
   * answers when it can (filter and page in memory, kept fresh through Redis); else the
   * database query below, which FerretDB v1 answers by reading the whole collection.
   */
  async list(q: ListQuery): Promise<ListPage> {
    const listed = await this.directory?.find(q);
    const rows: ListedRow[] = listed ?? (await this.query(q));
    const backwards = Boolean(q.before && !q.after);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    if (backwards) page.reverse();
    const first = page[0];
    const last = page[page.length - 1];
    const cur = (r: Row) => encodeCursor({ t: r.createdAt.getTime(), id: r._id.toHexString() });
    return {
      // The directory holds lastUsedAt too; the database query reads it for the page.
      items: listed ? page.map((r) => (r.lastUsedAt ? { ...toRecord(r), lastUsedAt: r.lastUsedAt } : toRecord(r))) : await this.withUsage(page.map(toRecord)),
      next: last && (backwards || more) ? cur(last) : undefined,
      prev: first && (backwards ? more : Boolean(q.after)) ? cur(first) : undefined,
    };
  }

  /** The rows of a list page from the database: up to `limit + 1`, in the order of travel. */
  private async query(q: ListQuery): Promise<Row[]> {
    const and: Record<string, unknown>[] = [{ communityId: q.communityId }];
    if (q.createdBy) and.push({ createdBy: q.createdBy });
    if (q.status === 'revoked') and.push({ status: 'revoked' });
    if (q.status === 'expired') and.push({ status: 'active', expiresAt: { $lte: q.now } });
    if (q.status === 'active') and.push({ status: 'active' }, { $or: [{ expiresAt: { $exists: false } }, { expiresAt: null }, { expiresAt: { $gt: q.now } }] });
    for (const w of q.words) {
      const re = { $regex: escapeRegex(w), $options: 'i' };
      and.push({ $or: [{ name: re }, { description: re }, { keyId: re }] });
    }
    const backwards = Boolean(q.before && !q.after);
    const c = q.after ?? q.before;
    if (c) {
      const t = new Date(c.t);
      const op = backwards ? '$gt' : '$lt';
      and.push({ $or: [{ createdAt: { [op]: t } }, { createdAt: t, _id: { [op]: c.id } }] });
    }
    const dir = backwards ? 1 : -1;
    return this.m.apiKeys
      .find({ $and: and })
      .sort({ createdAt: dir, _id: dir })
      .limit(q.limit + 1)
      .lean<Row[]>();
  }

  /**
   * The one update that revokes: status active → revoked, and the pending notification and
   * the pending announcement recorded in the same document write, so that neither can be
   * lost whoever dies next. Undefined when the key was not active (or not found). The key is
   * read by `_id` and written by exactly its `_id`; the caller decided beforehand that this
   * revocation is the one (the audit event), so concurrent calls write the same values.
   */
  async revoke(communityId: string, keyId: string, by: string, at: Date, details: RevokeDetails = {}): Promise<KeyRecord | undefined> {
    const d = await this.byKeyId(keyId, communityId);
    if (!d || d.status !== 'active') return undefined;
    const set = revokedFields(by, at, details, new Date());
    await this.write(d, set);
    await this.directory?.changed({ ...d, ...set });
    return toRecord({ ...d, ...set });
  }

  /**
   * {@link revoke} for several keys (each with its community and details; one actor and
   * time): each read by `_id` and checked as `revoke` checks it, then all written in
   * bulkWrites of up to 50 (each update still filtered by exactly its document's `_id`).
   * The keys revoked, in no particular order; those not active (or not found) are left out.
   */
  async revokeMany(items: Array<{ communityId: string; keyId: string; details?: RevokeDetails }>, by: string, at: Date): Promise<KeyRecord[]> {
    const read = await Promise.all(items.map(async (item) => ({ item, d: await this.byKeyId(item.keyId, item.communityId) })));
    const rows = read.filter((r): r is { item: (typeof items)[number]; d: Row } => r.d?.status === 'active');
    if (rows.length === 0) return [];
    const since = new Date();
    const writes = rows.map(({ item, d }) => ({ d, set: revokedFields(by, at, item.details ?? {}, since) }));
    await this.bulkUpdate(writes.map(({ d, set }) => ({ updateOne: { filter: { _id: d._id }, update: { $set: set } } })));
    for (const { d, set } of writes) await this.directory?.changed({ ...d, ...set });
    return writes.map(({ d, set }) => toRecord({ ...d, ...set }));
  }

  /**
   * Updates by `_id` in bulkWrites of at most {@link BULK_SLICE}, one after the other:
   * FerretDB v1.24 (SQLite) did not answer one `update` command of 100 statements.
   */
  private async bulkUpdate(ops: Parameters<Models['apiKeys']['bulkWrite']>[0]): Promise<void> {
    for (let i = 0; i < ops.length; i += BULK_SLICE) await this.m.apiKeys.bulkWrite(ops.slice(i, i + BULK_SLICE), { ordered: false });
  }

  /** Where a key's document is: its ref, else (a key without refs) a lookup by scan. */
  private async docIdOf(keyId: string): Promise<Types.ObjectId | undefined> {
    return (await this.ref(keyIdRef(keyId)))?.doc ?? (await this.byKeyId(keyId))?._id;
  }

  /**
   * announce pending → done, for one key or several (bulkWrites, see bulkUpdate). Written
   * without reading the documents first: only a key whose announcement was pending is ever
   * announced, and done written twice is done. On FerretDB 1.x a concurrent write to the
   * document may undo it; then the announcement is simply made again (an extra epoch bump
   * is harmless).
   */
  async markAnnounced(keyIds: string[]): Promise<void> {
    const ids = (await Promise.all(keyIds.map((keyId) => this.docIdOf(keyId)))).filter((id): id is Types.ObjectId => id !== undefined);
    if (ids.length === 0) return;
    const at = new Date();
    await this.bulkUpdate(ids.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { 'announce.state': 'done', 'announce.doneAt': at } } } })));
  }

  /**
   * Puts a finished notification back in hand (done → enqueued) because a delivery was added
   * after it finished (a dependent linked while the key was being revoked): the sweeper then
   * sees it unfinished and makes sure the new delivery is sent. A no-op in any other state.
   */
  async reopenNotification(keyId: string): Promise<void> {
    const d = await this.byKeyId(keyId);
    if (d?.status === 'revoked' && d.notification?.state === 'done') await this.write(d, { 'notification.state': 'enqueued' });
  }

  /** Which of these keys are revoked. */
  async revokedAmong(keyIds: string[]): Promise<Set<string>> {
    if (keyIds.length === 0) return new Set();
    const rows = await this.m.apiKeys.find({ keyId: { $in: keyIds }, status: 'revoked' }, { keyId: 1 }).lean<Row[]>();
    return new Set(rows.map((r) => r.keyId));
  }

  /** Which of these keys are still active. */
  async activeAmong(keyIds: string[]): Promise<Set<string>> {
    if (keyIds.length === 0) return new Set();
    const rows = await this.m.apiKeys.find({ keyId: { $in: keyIds }, status: 'active' }, { keyId: 1 }).lean<Row[]>();
    return new Set(rows.map((r) => r.keyId));
  }

  /** Revoked keys whose announcement is still pending since before `olderThan`, oldest first. */
  async pendingAnnouncements(olderThan: Date, limit: number): Promise<Array<{ keyId: string; since: Date }>> {
    const rows = await this.m.apiKeys
      .find({ 'announce.state': 'pending', 'announce.since': { $lt: olderThan } }, { keyId: 1, announce: 1 })
      .sort({ 'announce.since': 1, keyId: 1 })
      .limit(limit)
      .lean<Row[]>();
    return rows.map((r) => ({ keyId: r.keyId, since: r.announce?.since ?? new Date(0) }));
  }

  /**
   * Records that an active key's expiry is to be announced: its notification none → pending
   * with event `expired`, the same state the revocation pipeline then carries to done.
   * A no-op for a revoked key or one whose end was already announced.
   */
  async markExpired(keyId: string, at: Date): Promise<void> {
    const d = await this.byKeyId(keyId);
    if (d?.status !== 'active' || (d.notification?.state ?? 'none') !== 'none') return;
    await this.write(d, { notification: { state: 'pending', event: 'expired', pendingSince: at, total: 0, delivered: 0, failed: 0, gone: 0 } });
  }

  /** Active keys not yet announced whose expiry is at or before `until`, soonest first (the life scan). */
  async expiringBefore(until: Date, limit: number): Promise<KeyRecord[]> {
    const rows = await this.m.apiKeys
      .find({ status: 'active', 'notification.state': 'none', expiresAt: { $lte: until } })
      .sort({ expiresAt: 1 })
      .limit(limit)
      .lean<Row[]>();
    return rows.map(toRecord);
  }

  /** The revocation's (or expiry's) notification pending → enqueued (a no-op in any other state). */
  async markNotificationEnqueued(keyId: string): Promise<void> {
    const d = await this.byKeyId(keyId);
    if (d?.notification?.state !== 'pending') return;
    await this.write(d, { 'notification.state': 'enqueued', 'notification.enqueuedAt': new Date() });
  }

  /**
   * The notification → done with the final counts (or newer counts on a done one). True when
   * this call wrote them. Writes to the key's document are kept few (enqueued, done): on
   * FerretDB 1.x concurrent updates of one document can overwrite each other, and a lost
   * transition is put right by the sweeper, which settles any unfinished notification.
   */
  async finishNotification(keyId: string, c: DeliveryCounts): Promise<boolean> {
    const d = await this.byKeyId(keyId);
    const n = d?.notification;
    if (!d || !n) return false;
    const unfinished = n.state === 'pending' || n.state === 'enqueued';
    // Finished before a late delivery was added (a dependent linked during the revoke,
    // whose reopening raced this very finish): counts only grow, so recount.
    const grown = n.state === 'done' && (n.total ?? 0) < c.total;
    if (!unfinished && !grown) return false;
    await this.write(d, {
      'notification.state': 'done',
      'notification.doneAt': new Date(),
      'notification.total': c.total,
      'notification.delivered': c.delivered,
      'notification.failed': c.failed,
      'notification.gone': c.gone,
    });
    return true;
  }

  /**
   * Unfinished notifications pending since before `olderThan`, oldest first, after `cursor`
   * (so that successive sweeps walk through all of them, not the same first page).
   */
  async unfinishedNotifications(
    olderThan: Date,
    limit: number,
    cursor?: { pendingSince: Date; keyId: string },
  ): Promise<Array<{ keyId: string; communityId: string; pendingSince: Date }>> {
    const filter: Record<string, unknown> = { 'notification.state': { $in: ['pending', 'enqueued'] }, 'notification.pendingSince': { $lt: olderThan } };
    if (cursor) {
      filter.$or = [
        { 'notification.pendingSince': { $gt: cursor.pendingSince } },
        { 'notification.pendingSince': cursor.pendingSince, keyId: { $gt: cursor.keyId } },
      ];
    }
    const rows = await this.m.apiKeys.find(filter).sort({ 'notification.pendingSince': 1, keyId: 1 }).limit(limit).lean<Row[]>();
    return rows.map((r) => ({ keyId: r.keyId, communityId: r.communityId, pendingSince: r.notification?.pendingSince ?? new Date(0) }));
  }
}
