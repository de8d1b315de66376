import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/** A management API token: only its hash is stored, like a key's. */
export const adminTokenSchema = new Schema(
  {
    /** The public id (`at_…`), typed in `/apikey admin-token revoke <id>`. */
    _id: { type: String, required: true },
    communityId: { type: String, required: true },
    name: { type: String, required: true },
    scopes: { type: [String], required: true },
    tokenHash: { type: String, required: true },
    hint: { type: String, required: true },
    status: { type: String, enum: ['active', 'revoked'], required: true, default: 'active' },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: Date,
    revokedBy: String,
  },
  { collection: 'admin_tokens', versionKey: false, autoIndex: false },
);
adminTokenSchema.index({ tokenHash: 1 }, { unique: true });
// A name is the audit actor (`token:<name>`): unique per community, revoked tokens included.
adminTokenSchema.index({ communityId: 1, name: 1 }, { unique: true });

export type AdminTokenDoc = InferSchemaType<typeof adminTokenSchema>;
export const adminTokenModel = (conn: Connection): Model<AdminTokenDoc> =>
  (conn.models.AdminToken as Model<AdminTokenDoc> | undefined) ?? conn.model<AdminTokenDoc>('AdminToken', adminTokenSchema);
