import type { AuditAction, AuditCursor, AuditEvent, AuditRecord } from '../audit/audit-record.js';
import type { AuditEventDoc } from './models/audit-event.js';
import type { Models } from './mongo.js';

const toRecord = (r: AuditEventDoc): AuditRecord => ({
  id: String(r._id),
  communityId: r.communityId,
  at: r.at,
  actor: r.actor,
  onBehalfOf: r.onBehalfOf ?? undefined,
  action: r.action as AuditAction,
  target: r.target,
  details: (r.details ?? {}) as Record<string, unknown>,
});

/** The one writer of `audit_events`, append-only: nothing updates or deletes an event. */
export class AuditRepository {
  constructor(private readonly m: Models) {}

  async insert(e: AuditEvent & { at: Date }): Promise<void> {
    await this.m.auditEvents.create({ ...e, details: e.details ?? {} });
  }

  /** Inserts under `id`; false when an event with that id exists (duplicate key). */
  async insertOnce(id: string, e: AuditEvent & { at: Date }): Promise<boolean> {
    try {
      await this.m.auditEvents.create({ _id: id, ...e, details: e.details ?? {} });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
  }

  /**
   * Inserts each event under its id in one unordered insertMany; for each, true when it was
   * inserted, false when an event with that id existed (duplicate key).
   */
  async insertOnceMany(events: Array<{ id: string; e: AuditEvent & { at: Date } }>): Promise<boolean[]> {
    if (events.length === 0) return [];
    // Written as `create` writes them: no field that is undefined.
    const docs = events.map(({ id, e }) => Object.fromEntries(Object.entries({ _id: id, ...e, details: e.details ?? {} }).filter(([, v]) => v !== undefined)));
    try {
      await this.m.auditEvents.collection.insertMany(docs, { ordered: false });
      return events.map(() => true);
    } catch (err) {
      const errors = (err as { writeErrors?: unknown }).writeErrors;
      const list = (Array.isArray(errors) ? errors : errors ? [errors] : []) as Array<{ index: number; code?: number }>;
      if (list.length === 0 || list.some((we) => we.code !== 11000)) throw err;
      const dup = new Set(list.map((we) => we.index));
      return events.map((_, i) => !dup.has(i));
    }
  }

  async find(id: string): Promise<AuditRecord | undefined> {
    const r = await this.m.auditEvents.findById(id).lean();
    return r ? toRecord(r) : undefined;
  }

  /**
   * `key.revoked` events recorded before `olderThan`, oldest first, after `cursor`: the
   * sweeper walks them to complete revocations whose revoker died after recording them.
   */
  async revocations(
    olderThan: Date,
    limit: number,
    cursor?: AuditCursor,
  ): Promise<Array<{ id: string; communityId: string; keyId: string; actor: string; at: Date }>> {
    const filter: Record<string, unknown> = { action: 'key.revoked', at: { $lt: olderThan } };
    if (cursor) filter.$or = [{ at: { $gt: cursor.at } }, { at: cursor.at, _id: { $gt: cursor.id } }];
    const rows = await this.m.auditEvents.find(filter).sort({ at: 1, _id: 1 }).limit(limit).lean();
    return rows.map((r) => ({ id: String(r._id), communityId: r.communityId, keyId: r.target, actor: r.actor, at: r.at }));
  }

  /** Rolls recorded since `from`, oldest first (the net that makes sure each is told to dependents). */
  async rollsSince(from: Date, limit: number): Promise<Array<{ communityId: string; keyId: string; at: Date; previousValidUntil?: string }>> {
    const rows = await this.m.auditEvents
      .find({ action: 'key.rolled', at: { $gte: from } })
      .sort({ at: 1 })
      .limit(limit)
      .lean();
    return rows.map((r) => ({
      communityId: r.communityId,
      keyId: r.target,
      at: r.at,
      previousValidUntil: (r.details as { previousValidUntil?: string } | undefined)?.previousValidUntil,
    }));
  }

  /** Every event of one target, oldest first. */
  async forTarget(communityId: string, target: string): Promise<AuditRecord[]> {
    return (await this.m.auditEvents.find({ communityId, target }).sort({ at: 1 }).lean()).map(toRecord);
  }

  /** A community's events, newest first, `limit` at most, older than `before` when given; optionally of one target. */
  async page(
    communityId: string,
    opts: { target?: string; limit: number; before?: AuditCursor },
  ): Promise<{ events: AuditRecord[]; next: AuditCursor | undefined }> {
    const filter: Record<string, unknown> = { communityId, ...(opts.target ? { target: opts.target } : {}) };
    if (opts.before) filter.$or = [{ at: { $lt: opts.before.at } }, { at: opts.before.at, _id: { $lt: opts.before.id } }];
    const rows = await this.m.auditEvents
      .find(filter)
      .sort({ at: -1, _id: -1 })
      .limit(opts.limit + 1)
      .lean();
    const more = rows.length > opts.limit;
    const events = rows.slice(0, opts.limit).map(toRecord);
    const last = events[events.length - 1];
    return { events, next: more && last ? { at: last.at, id: last.id } : undefined };
  }

  /**
   * One page of a community's trail for people (Slack's `/apikey audit`), newest first:
   * optionally of one target (a key's timeline) or touching one user (as actor, on whose
   * behalf, or as the target of a member change). `before` pages to older events, `after`
   * to newer ones; `newer`/`older` say whether there is more on each side.
   */
  async timeline(
    communityId: string,
    opts: { target?: string; user?: string; limit: number; before?: AuditCursor; after?: AuditCursor },
  ): Promise<{ events: AuditRecord[]; newer: boolean; older: boolean }> {
    const and: Record<string, unknown>[] = [{ communityId }];
    if (opts.target) and.push({ target: opts.target });
    if (opts.user) and.push({ $or: [{ actor: opts.user }, { onBehalfOf: opts.user }, { target: opts.user }] });
    const c = opts.after ?? opts.before;
    const op = opts.after ? '$gt' : '$lt';
    if (c) and.push({ $or: [{ at: { [op]: c.at } }, { at: c.at, _id: { [op]: c.id } }] });
    const dir = opts.after ? 1 : -1;
    const rows = await this.m.auditEvents
      .find({ $and: and })
      .sort({ at: dir, _id: dir })
      .limit(opts.limit + 1)
      .lean();
    const more = rows.length > opts.limit;
    const kept = rows.slice(0, opts.limit);
    if (opts.after) kept.reverse();
    const events = kept.map(toRecord);
    return { events, newer: opts.after ? more : Boolean(opts.before), older: opts.after ? true : more };
  }
}
