import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

const attemptSchema = new Schema({ at: Date, status: Number, error: String, durationMs: Number }, { _id: false });

/**
 * One per (revocation, dependent): who is to be told, written once and never updated. The
 * fan-out writes it after the first POST, with that attempt in `attempts` and `state` saying
 * whether the attempt decided it (then also `lastStatus`, `lastError`, `deliveredAt`): one
 * insert per dependent, and the insert decides as the log's `#end` does. Later attempts and
 * ends are in `delivery_log`. A record written before its first attempt (a late link, the
 * sweeper, earlier versions) has no attempts; deliveries from before the log carry every
 * attempt here.
 */
export const deliverySchema = new Schema(
  {
    communityId: { type: String, required: true },
    deliveryId: { type: String, required: true },
    keyId: { type: String, required: true },
    dependentId: { type: String, required: true },
    dependentName: { type: String, required: true },
    state: { type: String, enum: ['pending', 'delivered', 'failed', 'gone'] },
    attempts: { type: [attemptSchema], default: undefined },
    lastStatus: Number,
    lastError: String,
    deliveredAt: Date,
    createdAt: { type: Date, required: true },
  },
  { collection: 'deliveries', versionKey: false, autoIndex: false },
);
deliverySchema.index({ deliveryId: 1 }, { unique: true });
deliverySchema.index({ keyId: 1, state: 1 });

export type DeliveryDoc = InferSchemaType<typeof deliverySchema>;
export const deliveryModel = (conn: Connection): Model<DeliveryDoc> =>
  (conn.models.Delivery as Model<DeliveryDoc> | undefined) ?? conn.model<DeliveryDoc>('Delivery', deliverySchema);

/**
 * What happened to deliveries, insert-only (FerretDB v1 rewrites a whole document on every
 * update and its conditional updates are not atomic; inserts with deterministic ids are
 * cheap in batches and decide races). Two kinds of entry, both keyed by the delivery:
 * - `<deliveryId>#<n>`: attempt n (1-based): when, HTTP status, error, duration;
 * - `<deliveryId>#end`: the delivery became final (`f`: delivered, failed or gone). The one
 *   insert that succeeds finished it; a duplicate means someone else had. When an attempt
 *   finished it, the end entry is that attempt too (its `n`, status, error, duration) and
 *   there is no `#<n>` for it (earlier versions wrote both).
 */
export const deliveryLogSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** The delivery. */
    d: { type: String, required: true },
    /** Its key, to read a revocation's log at once. */
    k: { type: String, required: true },
    /** Attempt number; on the end entry only when an attempt finished the delivery. */
    n: Number,
    /** Final state, on the end entry only. */
    f: { type: String, enum: ['delivered', 'failed', 'gone'] },
    at: { type: Date, required: true },
    /** HTTP status (attempt), absent when no response came. */
    s: Number,
    /** Error: of the attempt, or why it was finished without one. */
    e: String,
    /** Duration of the attempt. */
    ms: Number,
  },
  { collection: 'delivery_log', versionKey: false, autoIndex: false },
);
deliveryLogSchema.index({ k: 1 });

export type DeliveryLogDoc = InferSchemaType<typeof deliveryLogSchema>;
export const deliveryLogModel = (conn: Connection): Model<DeliveryLogDoc> =>
  (conn.models.DeliveryLog as Model<DeliveryLogDoc> | undefined) ?? conn.model<DeliveryLogDoc>('DeliveryLog', deliveryLogSchema);

/** One per revocation fan-out that ever started (`_id`: the keyId): a re-run knows it is one. */
export const fanoutClaimSchema = new Schema(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'fanout_claims', versionKey: false },
);
export type FanoutClaimDoc = InferSchemaType<typeof fanoutClaimSchema>;
export const fanoutClaimModel = (conn: Connection): Model<FanoutClaimDoc> =>
  (conn.models.FanoutClaim as Model<FanoutClaimDoc> | undefined) ?? conn.model<FanoutClaimDoc>('FanoutClaim', fanoutClaimSchema);
