import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * When a key was last used, kept apart from the key itself. FerretDB v1 applies an update by
 * reading and rewriting the whole document, so a `lastUsedAt` write racing a revocation on
 * the same document could put the old `status: active` back. Usage writes never touch
 * `api_keys`, so nothing but a revocation writes a key's status.
 */
export const keyUsageSchema = new Schema(
  {
    keyId: { type: String, required: true },
    lastUsedAt: { type: Date, required: true },
  },
  { collection: 'key_usage', versionKey: false, autoIndex: false },
);
keyUsageSchema.index({ keyId: 1 }, { unique: true });

export type KeyUsageDoc = InferSchemaType<typeof keyUsageSchema>;
export const keyUsageModel = (conn: Connection): Model<KeyUsageDoc> =>
  (conn.models.KeyUsage as Model<KeyUsageDoc> | undefined) ?? conn.model<KeyUsageDoc>('KeyUsage', keyUsageSchema);
