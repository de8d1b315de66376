import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/** A request for a key (`/apikey request`). Written once; its outcome lives in a decision. */
export const keyRequestSchema = new Schema(
  {
    /** The requestId, `rq_…`. */
    _id: { type: String, required: true },
    communityId: { type: String, required: true },
    requestedBy: { type: String, required: true },
    /** The create form as validated (name, description, roles, expiresInDays/expiresOn). */
    input: { type: Schema.Types.Mixed, required: true },
    why: { type: String, required: true },
    /** The keyId the key will have if approved (chosen now, so a second create cannot make another). */
    keyId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lapsesAt: { type: Date, required: true },
    /**
     * When the request scan found nothing left to do (every copy shows the outcome, the
     * requester was told). Written only by the scan (`RequestRepository.settle`); unset while open.
     */
    settledAt: Date,
  },
  { collection: 'key_requests', versionKey: false, autoIndex: false },
);
keyRequestSchema.index({ communityId: 1, createdAt: -1 });
keyRequestSchema.index({ settledAt: 1, createdAt: 1 });

/**
 * The one decision on a request: `_id` `<requestId>:decision`. Its insert decides which of
 * concurrent approvers, deniers and the cancelling requester wins (FerretDB v1's conditional
 * updates are not atomic; an insert into the unique `_id` is).
 */
export const requestDecisionSchema = new Schema(
  {
    _id: { type: String, required: true },
    communityId: { type: String, required: true },
    requestId: { type: String, required: true },
    decision: { type: String, enum: ['approved', 'denied', 'cancelled', 'lapsed'], required: true },
    by: { type: String, required: true },
    at: { type: Date, required: true },
    reason: String,
  },
  { collection: 'request_decisions', versionKey: false, autoIndex: false },
);

/** Where a request was posted (one document per copy), so every copy can be updated. */
export const requestMessageSchema = new Schema(
  {
    _id: { type: String, required: true },
    requestId: { type: String, required: true },
    channel: { type: String, required: true },
    ts: { type: String, required: true },
  },
  { collection: 'request_messages', versionKey: false, autoIndex: false },
);
requestMessageSchema.index({ requestId: 1 });

/**
 * Insert-only marks of what happened after an approval, each under a deterministic `_id`
 * whose insert decides: `<requestId>:claim:<n>` (the n-th attempt to hand the key out),
 * `<requestId>:failed:<n>` (that attempt showed no secret), `<requestId>:delivered` (the
 * secret reached the requester), `<requestId>:told:<what>` (a notice sent once).
 */
export const requestMarkSchema = new Schema(
  {
    _id: { type: String, required: true },
    requestId: { type: String, required: true },
    kind: { type: String, enum: ['claim', 'failed', 'delivered', 'told'], required: true },
    n: Number,
    at: { type: Date, required: true },
    by: String,
    /** delivered: `dm` or `modal`. */
    via: String,
  },
  { collection: 'request_marks', versionKey: false, autoIndex: false },
);
requestMarkSchema.index({ requestId: 1 });

export type KeyRequestDoc = InferSchemaType<typeof keyRequestSchema>;
export type RequestDecisionDoc = InferSchemaType<typeof requestDecisionSchema>;
export type RequestMessageDoc = InferSchemaType<typeof requestMessageSchema>;
export type RequestMarkDoc = InferSchemaType<typeof requestMarkSchema>;
export const keyRequestModel = (conn: Connection): Model<KeyRequestDoc> =>
  (conn.models.KeyRequest as Model<KeyRequestDoc> | undefined) ?? conn.model<KeyRequestDoc>('KeyRequest', keyRequestSchema);
export const requestDecisionModel = (conn: Connection): Model<RequestDecisionDoc> =>
  (conn.models.RequestDecision as Model<RequestDecisionDoc> | undefined) ?? conn.model<RequestDecisionDoc>('RequestDecision', requestDecisionSchema);
export const requestMessageModel = (conn: Connection): Model<RequestMessageDoc> =>
  (conn.models.RequestMessage as Model<RequestMessageDoc> | undefined) ?? conn.model<RequestMessageDoc>('RequestMessage', requestMessageSchema);
export const requestMarkModel = (conn: Connection): Model<RequestMarkDoc> =>
  (conn.models.RequestMark as Model<RequestMarkDoc> | undefined) ?? conn.model<RequestMarkDoc>('RequestMark', requestMarkSchema);
