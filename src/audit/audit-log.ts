import type { AuditRepository } from '../store/audit-repository.js';
import type { AuditCursor, AuditEvent, AuditRecord } from './audit-record.js';

export type { AuditAction, AuditCursor, AuditEvent, AuditRecord } from './audit-record.js';

/** Append-only audit trail of every change. Never given a secret. */
export class AuditLog {
  constructor(private readonly repo: AuditRepository) {}

  async record(e: AuditEvent): Promise<void> {
    await this.repo.insert({ ...e, at: e.at ?? new Date() });
  }

  /**
   * Records an event that may happen only once, under a deterministic id. The unique `_id`
   * makes the database the arbiter: of any number of concurrent callers exactly one gets
   * true. (Unlike a conditional update, an insert into a unique index is serialised by every
   * MongoDB-compatible server, FerretDB included.)
   */
  recordOnce(id: string, e: AuditEvent): Promise<boolean> {
    return this.repo.insertOnce(id, { ...e, at: e.at ?? new Date() });
  }

  /** {@link recordOnce} for several events in one write; for each, whether this call recorded it. */
  recordOnceMany(events: Array<{ id: string; e: AuditEvent }>): Promise<boolean[]> {
    return this.repo.insertOnceMany(events.map(({ id, e }) => ({ id, e: { ...e, at: e.at ?? new Date() } })));
  }

  find(id: string): Promise<AuditRecord | undefined> {
    return this.repo.find(id);
  }

  /**
   * `key.revoked` events recorded before `olderThan`, oldest first, after `cursor`: the
   * sweeper walks them to complete revocations whose revoker died after recording them.
   */
  revocations(olderThan: Date, limit: number, cursor?: AuditCursor) {
    return this.repo.revocations(olderThan, limit, cursor);
  }

  /** Rolls recorded since `from`, oldest first (the net that makes sure each is told to dependents). */
  rollsSince(from: Date, limit: number) {
    return this.repo.rollsSince(from, limit);
  }

  /** Every event of one target, oldest first. */
  forTarget(communityId: string, target: string): Promise<AuditRecord[]> {
    return this.repo.forTarget(communityId, target);
  }

  /** A community's events, newest first, `limit` at most, older than `before` when given; optionally of one target. */
  page(communityId: string, opts: { target?: string; limit: number; before?: AuditCursor }) {
    return this.repo.page(communityId, opts);
  }

  /**
   * One page of a community's trail for people (Slack's `/apikey audit`), newest first:
   * optionally of one target (a key's timeline) or touching one user (as actor, on whose
   * behalf, or as the target of a member change). `before` pages to older events, `after`
   * to newer ones; `newer`/`older` say whether there is more on each side.
   */
  timeline(communityId: string, opts: { target?: string; user?: string; limit: number; before?: AuditCursor; after?: AuditCursor }) {
    return this.repo.timeline(communityId, opts);
  }
}
