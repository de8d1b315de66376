import type { Types } from 'mongoose';
import type { DeliveryCounts } from '../dependents/delivery-record.js';
import type { Models } from './mongo.js';
import type { ApiKeyDoc } from './models/api-key.js';
import type { KeyDirectory } from './key-directory.js';
import { KeyUsageRepository } from './key-usage-repository.js';
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

export class KeyRepository {
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
    await this.directory?.changed(key.communityId, doc._id);
    return toRecord(doc.toObject());
  }

  async find(communityId: string, keyId: string): Promise<KeyRecord | undefined> {
    const d = await this.m.apiKeys.findOne({ communityId, keyId }).lean<Row>();
    return d ? (await this.withUsage([toRecord(d)]))[0] : undefined;
  }

  /** The keys of one community among these keyIds (one query; unknown ones are simply absent). */
  async findMany(communityId: string, keyIds: string[]): Promise<KeyRecord[]> {
    if (keyIds.length === 0) return [];
    const rows = await this.m.apiKeys.find({ communityId, keyId: { $in: keyIds } }).lean<Row[]>();
    return this.withUsage(rows.map(toRecord));
  }

  /** Used by the worker, which gets only a keyId in its job data. */
  async findByKeyId(keyId: string): Promise<KeyRecord | undefined> {
    const d = await this.m.apiKeys.findOne({ keyId }).lean<Row>();
    return d ? toRecord(d) : undefined;
  }

  /**
   * The verify path for a secret that is not a key's current one: the previous secret of a
   * roll (`previous`), or one ended by a roll (`retired`). Undefined when none matches.
   */
  async findByOldTokenHash(tokenHash: string): Promise<{ key: KeyRecord; matched: string; which: 'previous' | 'retired' } | undefined> {
    const d = await this.m.apiKeys.findOne({ $or: [{ previousTokenHash: tokenHash }, { retiredTokenHashes: tokenHash }] }).lean<Row>();
    if (!d) return undefined;
    const which = d.previousTokenHash === tokenHash ? 'previous' : 'retired';
    return {
      key: toRecord(d),
      matched: which === 'previous' ? d.previousTokenHash! : ((d.retiredTokenHashes ?? []).find((h) => h === tokenHash) ?? ''),
      which,
    };
  }

  /** The hashes of a key's live secrets (the roll decides on the current one). */
  async secretsOf(communityId: string, keyId: string): Promise<{ tokenHash: string; previousTokenHash?: string } | undefined> {
    const d = await this.m.apiKeys.findOne({ communityId, keyId }, { tokenHash: 1, previousTokenHash: 1 }).lean<Row>();
    return d ? { tokenHash: d.tokenHash, previousTokenHash: d.previousTokenHash ?? undefined } : undefined;
  }

  /**
   * Replaces the current secret: the old one becomes the previous one (valid until
   * `previousValidUntil`), and an earlier previous one is retired at once.
   */
  async roll(
    communityId: string,
    keyId: string,
    r: { fromHash: string; tokenHash: string; hint: string; previousHint: string; previousValidUntil: Date; retire?: string; at: Date; by: string },
  ): Promise<KeyRecord | undefined> {
    const update: Record<string, unknown> = {
      $set: {
        tokenHash: r.tokenHash,
        hint: r.hint,
        previousTokenHash: r.fromHash,
        previousHint: r.previousHint,
        previousValidUntil: r.previousValidUntil,
        rolledAt: r.at,
        rolledBy: r.by,
      },
    };
    if (r.retire) update.$push = { retiredTokenHashes: r.retire };
    const d = await this.m.apiKeys
      .findOneAndUpdate({ communityId, keyId, status: 'active', tokenHash: r.fromHash }, update, { returnDocument: 'after' })
      .lean<Row>();
    return d ? toRecord(d) : undefined;
  }

  /** The verify path: one indexed equality lookup on the unique hash. */
  async findByTokenHash(tokenHash: string): Promise<(KeyRecord & { tokenHash: string }) | undefined> {
    const d = await this.m.apiKeys.findOne({ tokenHash }).lean<Row>();
    return d ? { ...toRecord(d), tokenHash: d.tokenHash } : undefined;
  }

  /**
   * A page of a community's keys, newest first, with keyset cursors. The key directory
   * answers when it can (filter and page in memory, the page's documents read by `_id`);
   * else the database query below, which FerretDB v1 answers by reading the whole collection.
   */
  async list(q: ListQuery): Promise<ListPage> {
    const rows = (await this.directory?.find(q)) ?? (await this.query(q));
    const backwards = Boolean(q.before && !q.after);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    if (backwards) page.reverse();
    const first = page[0];
    const last = page[page.length - 1];
    const cur = (r: Row) => encodeCursor({ t: r.createdAt.getTime(), id: r._id.toHexString() });
    return {
      items: await this.withUsage(page.map(toRecord)),
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
   * The one conditional update that revokes: status active → revoked, and the pending
   * notification and the pending announcement recorded in the same document write, so
   * that neither can be lost whoever dies next. Null when the key was not active.
   */
  async revoke(communityId: string, keyId: string, by: string, at: Date, details: RevokeDetails = {}): Promise<KeyRecord | undefined> {
    const d = await this.m.apiKeys
      .findOneAndUpdate(
        { communityId, keyId, status: 'active' },
        {
          $set: {
            status: 'revoked',
            revokedAt: at,
            revokedBy: by,
            ...(details.reason ? { reason: details.reason } : {}),
            ...(details.leak ? { leak: details.leak } : {}),
            notification: { state: 'pending', pendingSince: at, total: 0, delivered: 0, failed: 0, gone: 0 },
            announce: { state: 'pending', since: new Date() },
          },
        },
        { returnDocument: 'after' },
      )
      .lean<Row>();
    if (d) await this.directory?.changed(communityId, d._id);
    return d ? toRecord(d) : undefined;
  }

  /**
   * announce pending → done. On FerretDB 1.x a concurrent write to the document may undo
   * it; then the announcement is simply made again (an extra epoch bump is harmless).
   */
  async markAnnounced(keyId: string): Promise<void> {
    await this.m.apiKeys.updateOne({ keyId, 'announce.state': 'pending' }, { $set: { 'announce.state': 'done', 'announce.doneAt': new Date() } });
  }

  /**
   * Puts a finished notification back in hand (done → enqueued) because a delivery was added
   * after it finished (a dependent linked while the key was being revoked): the sweeper then
   * sees it unfinished and makes sure the new delivery is sent. A no-op in any other state.
   */
  async reopenNotification(keyId: string): Promise<void> {
    await this.m.apiKeys.updateOne({ keyId, status: 'revoked', 'notification.state': 'done' }, { $set: { 'notification.state': 'enqueued' } });
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
    await this.m.apiKeys.updateOne(
      { keyId, status: 'active', 'notification.state': 'none' },
      { $set: { notification: { state: 'pending', event: 'expired', pendingSince: at, total: 0, delivered: 0, failed: 0, gone: 0 } } },
    );
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
    await this.m.apiKeys.updateOne(
      { keyId, 'notification.state': 'pending' },
      { $set: { 'notification.state': 'enqueued', 'notification.enqueuedAt': new Date() } },
    );
  }

  /**
   * The notification → done with the final counts (or newer counts on a done one). True when
   * this call wrote them. Writes to the key's document are kept few (enqueued, done): on
   * FerretDB 1.x concurrent updates of one document can overwrite each other, and a lost
   * transition is put right by the sweeper, which settles any unfinished notification.
   */
  async finishNotification(keyId: string, c: DeliveryCounts): Promise<boolean> {
    const res = await this.m.apiKeys.updateOne(
      {
        keyId,
        $or: [
          { 'notification.state': { $in: ['pending', 'enqueued'] } },
          // Finished before a late delivery was added (a dependent linked during the revoke,
          // whose reopening raced this very finish): counts only grow, so recount.
          { 'notification.state': 'done', 'notification.total': { $lt: c.total } },
        ],
      },
      {
        $set: {
          'notification.state': 'done',
          'notification.doneAt': new Date(),
          'notification.total': c.total,
          'notification.delivered': c.delivered,
          'notification.failed': c.failed,
          'notification.gone': c.gone,
        },
      },
    );
    return res.modifiedCount === 1;
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
