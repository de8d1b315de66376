import { Schema, type Connection, type Model } from 'mongoose';

/** A Slack message announcing a revocation. */
export interface NoticeRef {
  channel: string;
  ts: string;
}

/**
 * Who posts the Slack notices of a revocation, and where they went. One document per
 * revoked key, created by the one worker that wins the unique index on keyId (an insert is
 * atomic on every MongoDB-compatible server; a conditional update is not on FerretDB 1.x,
 * which writes whole documents back), and written by that worker alone.
 */
const revocationNoticeSchema = new Schema(
  {
    keyId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    notices: { type: [new Schema({ channel: String, ts: String }, { _id: false })], default: [] },
  },
  { collection: 'revocation_notices', versionKey: false, autoIndex: false },
);
revocationNoticeSchema.index({ keyId: 1 }, { unique: true });

export type RevocationNoticeDoc = { keyId: string; claimedAt: Date; notices: NoticeRef[] };
export const revocationNoticeModel = (conn: Connection): Model<RevocationNoticeDoc> =>
  (conn.models.RevocationNotice as Model<RevocationNoticeDoc> | undefined) ?? conn.model<RevocationNoticeDoc>('RevocationNotice', revocationNoticeSchema);
