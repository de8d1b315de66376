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
  | 'request.lapsed'
  /** The requester received the approved key's secret (by DM at approval, or `Collect key`). */
  | 'request.collected';

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

/** An event as recorded, with its id. */
export interface AuditRecord {
  id: string;
  communityId: string;
  at: Date;
  actor: string;
  onBehalfOf?: string;
  action: AuditAction;
  target: string;
  details: Record<string, unknown>;
}
