import { Schema, Types, type Connection, type InferSchemaType, type Model } from 'mongoose';

/** Append-only: nothing updates or deletes these. */
export const auditEventSchema = new Schema(
  {
    /** A string so that events which must happen once (a revocation) can carry a deterministic id. */
    _id: { type: String, default: () => new Types.ObjectId().toHexString() },
    communityId: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    /** Set when the actor is a management API token: the admin who created it. */
    onBehalfOf: String,
    action: { type: String, required: true },
    target: { type: String, required: true },
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'audit_events', versionKey: false, autoIndex: false },
);
auditEventSchema.index({ communityId: 1, target: 1, at: -1 });
// GET /v1/audit without a target: a community's trail, newest first.
auditEventSchema.index({ communityId: 1, at: -1, _id: -1 });
// The sweeper's walk over revocations.
auditEventSchema.index({ action: 1, at: 1, _id: 1 });

export type AuditEventDoc = InferSchemaType<typeof auditEventSchema>;
export const auditEventModel = (conn: Connection): Model<AuditEventDoc> =>
  (conn.models.AuditEvent as Model<AuditEventDoc> | undefined) ?? conn.model<AuditEventDoc>('AuditEvent', auditEventSchema);
