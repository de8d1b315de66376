import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * When a key was last used, kept apart from the key itself. FerretDB v1 applies an update by
 * reading and rewriting the whole document, so a `lastUsedAt` write racing a revocation on
 * the same document could put the old `status: active` back. Usage writes never touch
 * `api_keys`, so nothing but a revocation writes a key's status.
 *
 * The document's `_id` is the keyId: a read or write of one key's usage is then the one
 * filter FerretDB v1 pushes down to SQLite (`{_id}`), never a decode of the whole
 * collection in Go. Documents of the older shape (an ObjectId `_id` and a unique index on
 * `keyId`) are moved by KeyUsageRepository.migrate at first use. `keyId` is still written, for replicas of the older
 * version during a rolling upgrade (they find the document by it).
 */
export const keyUsageSchema = new Schema(
  {
    _id: { type: String, required: true },
    keyId: { type: String, required: true },
    lastUsedAt: { type: Date, required: true },
  },
  { collection: 'key_usage', versionKey: false, autoIndex: false },
);

export type KeyUsageDoc = InferSchemaType<typeof keyUsageSchema>;
export const keyUsageModel = (conn: Connection): Model<KeyUsageDoc> =>
  (conn.models.KeyUsage as Model<KeyUsageDoc> | undefined) ?? conn.model<KeyUsageDoc>('KeyUsage', keyUsageSchema);
