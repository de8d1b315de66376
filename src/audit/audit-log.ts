import type { Models } from '../store/mongo.js';

export type AuditAction =
  | 'key.created' | 'key.revoked'
  | 'member.added' | 'member.role_changed' | 'member.removed'
  | 'dependent.linked' | 'dependent.unlinked' | 'dependent.gone';

export interface AuditEvent {
  communityId: string;
  actor: string;
  action: AuditAction;
  target: string;
  details?: Record<string, unknown>;
  at?: Date;
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

  async forTarget(communityId: string, target: string) {
    return this.m.auditEvents.find({ communityId, target }).sort({ at: 1 }).lean();
  }
}
