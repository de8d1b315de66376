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

  async forTarget(communityId: string, target: string) {
    return this.m.auditEvents.find({ communityId, target }).sort({ at: 1 }).lean();
  }
}
