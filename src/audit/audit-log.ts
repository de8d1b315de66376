import type { Models } from '../store/mongo.js';

export type AuditAction =
  | 'key.created'
  | 'key.revoked'
  | 'key.expired'
  | 'key.rolled'
  | 'key.reminded'
  | 'member.added'
  | 'member.role_changed'
  | 'member.removed'
  | 'dependent.linked'
  | 'dependent.unlinked'
  | 'dependent.gone'
  | 'admin_token.created'
  | 'admin_token.revoked'
  | 'request.approved'
  | 'request.denied'
  | 'request.cancelled'
  | 'request.lapsed';

export interface AuditEvent {
  communityId: string;
  actor: string;
  /** For an actor that is a management API token (`token:<name>`): the admin who created it. */
  onBehalfOf?: string;
  action: AuditAction;
  target: string;
  details?: Record<string, unknown>;
  at?: Date;
}

/** A position in the audit trail: the (at, _id) of the last event seen. */
export interface AuditCursor {
  at: Date;
  id: string;
}

/** Append-only audit trail of every change. Never given a secret. */
export class AuditLog {
  constructor(private readonly m: Models) {}

  async record(e: AuditEvent): Promise<void> {
    await this.m.auditEvents.create({ ...e, at: e.at ?? new Date(), details: e.details ?? {} });
  }

  /**
   * Records an event that may happen only once, under a deterministic id. The unique `_id`
   * makes the database the arbiter: of any number of concurrent callers exactly one gets
   * true. (Unlike a conditional update, an insert into a unique index is serialised by every
   * MongoDB-compatible server, FerretDB included.)
   */
  async recordOnce(id: string, e: AuditEvent): Promise<boolean> {
    try {
      await this.m.auditEvents.create({ _id: id, ...e, at: e.at ?? new Date(), details: e.details ?? {} });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
  }

  async find(id: string) {
    return this.m.auditEvents.findById(id).lean();
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

  async forTarget(communityId: string, target: string) {
    return this.m.auditEvents.find({ communityId, target }).sort({ at: 1 }).lean();
  }

  /** A community's events, newest first, `limit` at most, older than `before` when given; optionally of one target. */
  async page(communityId: string, opts: { target?: string; limit: number; before?: AuditCursor }) {
    const filter: Record<string, unknown> = { communityId, ...(opts.target ? { target: opts.target } : {}) };
    if (opts.before) filter.$or = [{ at: { $lt: opts.before.at } }, { at: opts.before.at, _id: { $lt: opts.before.id } }];
    const rows = await this.m.auditEvents
      .find(filter)
      .sort({ at: -1, _id: -1 })
      .limit(opts.limit + 1)
      .lean();
    const more = rows.length > opts.limit;
    const events = rows.slice(0, opts.limit).map((r) => ({
      id: String(r._id),
      at: r.at,
      actor: r.actor,
      onBehalfOf: r.onBehalfOf ?? undefined,
      action: r.action,
      target: r.target,
      details: (r.details ?? {}) as Record<string, unknown>,
    }));
    const last = events[events.length - 1];
    return { events, next: more && last ? { at: last.at, id: last.id } : undefined };
  }
  /**
   * One page of a community's trail for people (Slack's `/apikey audit`), newest first:
   * optionally of one target (a key's timeline) or touching one user (as actor, on whose
   * behalf, or as the target of a member change). `before` pages to older events, `after`
   * to newer ones; `newer`/`older` say whether there is more on each side.
   */
  async timeline(communityId: string, opts: { target?: string; user?: string; limit: number; before?: AuditCursor; after?: AuditCursor }) {
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
    const events = kept.map((r) => ({
      id: String(r._id),
      at: r.at,
      actor: r.actor,
      onBehalfOf: r.onBehalfOf ?? undefined,
      action: r.action,
      target: r.target,
      details: (r.details ?? {}) as Record<string, unknown>,
    }));
    return { events, newer: opts.after ? more : Boolean(opts.before), older: opts.after ? true : more };
  }
}
