import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * One per `Idempotency-Key` of a create through the management API. The deterministic `_id`
 * (community, admin token, idempotency key) decides by insert which request creates: a
 * repeat's insert fails on the unique `_id` and it answers with the key the first one made.
 */
export const idempotencySchema = new Schema(
  {
    _id: { type: String, required: true },
    communityId: { type: String, required: true },
    /** The keyId the winning request creates (chosen before the insert). */
    keyId: { type: String, required: true },
    /** SHA-256 of the request body: a repeat with another body is refused. */
    bodyHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'idempotency_keys', versionKey: false, autoIndex: false },
);

export type IdempotencyDoc = InferSchemaType<typeof idempotencySchema>;
export const idempotencyModel = (conn: Connection): Model<IdempotencyDoc> =>
  (conn.models.Idempotency as Model<IdempotencyDoc> | undefined) ?? conn.model<IdempotencyDoc>('Idempotency', idempotencySchema);
