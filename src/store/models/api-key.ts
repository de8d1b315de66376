import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/** State of the revocation notification, written in the same update that revokes the key. */
export const notificationStates = ['none', 'pending', 'enqueued', 'done'] as const;

const notificationSchema = new Schema(
  {
    state: { type: String, enum: notificationStates, required: true, default: 'none' },
    /** What is announced: the revocation (absent, older documents) or the expiry. */
    event: { type: String, enum: ['revoked', 'expired'] },
    pendingSince: Date,
    enqueuedAt: Date,
    doneAt: Date,
    total: { type: Number, default: 0 },
    delivered: { type: Number, default: 0 },
    failed: { type: Number, default: 0 },
    gone: { type: Number, default: 0 },
  },
  { _id: false },
);

/**
 * Whether verifiers were told of the revocation (the revocation epoch bumped): `pending` is
 * written in the same update that revokes, `done` once announced. Absent on active keys and
 * on keys revoked before this field existed (their revoke announced before returning).
 */
const announceSchema = new Schema(
  {
    state: { type: String, enum: ['pending', 'done'], required: true },
    since: Date,
    doneAt: Date,
  },
  { _id: false },
);

const leakSchema = new Schema({ source: { type: String, required: true }, url: String, channel: String, ts: String }, { _id: false });

export const apiKeySchema = new Schema(
  {
    communityId: { type: String, required: true },
    keyId: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String, required: true },
    roles: { type: [String], required: true },
    status: { type: String, enum: ['active', 'revoked'], required: true, default: 'active' },
    tokenHash: { type: String, required: true },
    hint: { type: String, required: true },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: Date,
    revokedBy: String,
    /** Why it was revoked: a preset code (compromised, no_longer_used, replaced, leaked) or free text. */
    reason: String,
    /** Where a leaked key was found (GitHub secret scanning, the Slack leak guard). */
    leak: { type: leakSchema, required: false },
    /** When the key stops working; absent: never. */
    expiresAt: Date,
    /** The secret before the last roll, valid until previousValidUntil (at most two live secrets). */
    previousTokenHash: String,
    previousHint: String,
    previousValidUntil: Date,
    /** Hashes of secrets ended by a roll: they answer `rolled` rather than `unknown`. */
    retiredTokenHashes: { type: [String], default: undefined },
    rolledAt: Date,
    rolledBy: String,
    notification: { type: notificationSchema, default: () => ({ state: 'none' }) },
    announce: { type: announceSchema, required: false },
  },
  { collection: 'api_keys', versionKey: false, autoIndex: false },
);

apiKeySchema.index({ tokenHash: 1 }, { unique: true });
apiKeySchema.index({ keyId: 1 }, { unique: true });
// Verify of a secret that is not the current one (during and after a roll's overlap).
apiKeySchema.index({ previousTokenHash: 1 });
apiKeySchema.index({ retiredTokenHashes: 1 });
// Lists: one community, one status, newest first, _id breaks ties for keyset paging.
apiKeySchema.index({ communityId: 1, status: 1, createdAt: -1, _id: -1 });
apiKeySchema.index({ communityId: 1, createdAt: -1, _id: -1 });
// Lists of one creator's keys (`/apikey list @user`).
apiKeySchema.index({ communityId: 1, createdBy: 1, createdAt: -1, _id: -1 });
// Expiry and reminders: the sweeper's scan of keys nearing or past their expiry.
apiKeySchema.index({ status: 1, 'notification.state': 1, expiresAt: 1 });
// The sweeper's scans.
apiKeySchema.index({ 'notification.state': 1, 'notification.pendingSince': 1 });
apiKeySchema.index({ 'announce.state': 1, 'announce.since': 1 });

export type ApiKeyDoc = InferSchemaType<typeof apiKeySchema>;
export const apiKeyModel = (conn: Connection): Model<ApiKeyDoc> =>
  (conn.models.ApiKey as Model<ApiKeyDoc> | undefined) ?? conn.model<ApiKeyDoc>('ApiKey', apiKeySchema);
