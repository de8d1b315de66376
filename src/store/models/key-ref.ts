import { Schema, Types, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * Where a key's document is, by something people or verifiers know it by, insert-only:
 * - `id:<keyId>` → the `api_keys` document (the keyId typed in Slack, a job's data);
 * - `th:<tokenHash>` → the document that holds (or held) that secret's hash: one for the
 *   first secret, one more for each roll's new secret.
 * FerretDB v1 on SQLite pushes a filter down to SQL only when it is exactly `{_id: …}`:
 * every other lookup (by keyId, by tokenHash, by any index) reads and decodes the whole
 * collection. So a key is looked up here by `_id`, then read and updated by its own `_id`.
 * A ref never changes once written (a keyId and a hash name one key forever), so a process
 * may keep what it read.
 */
export const keyRefSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** The key's `api_keys` document. */
    doc: { type: Schema.Types.ObjectId, required: true },
    /** Its community, so that a lookup from another workspace stops here. */
    c: { type: String, required: true },
  },
  { collection: 'key_refs', versionKey: false, autoIndex: false },
);

export const keyIdRef = (keyId: string) => `id:${keyId}`;
export const tokenHashRef = (tokenHash: string) => `th:${tokenHash}`;

export type KeyRefDoc = InferSchemaType<typeof keyRefSchema> & { doc: Types.ObjectId };
export const keyRefModel = (conn: Connection): Model<KeyRefDoc> =>
  (conn.models.KeyRef as Model<KeyRefDoc> | undefined) ?? conn.model<KeyRefDoc>('KeyRef', keyRefSchema);
