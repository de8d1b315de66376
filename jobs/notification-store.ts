import { Schema, type Connection, type Model } from 'mongoose';
import type { DeliveryCounts } from '../src/dependents/delivery-repository.js';
import type { Models } from '../src/store/mongo.js';

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

type RevocationNoticeDoc = { keyId: string; claimedAt: Date; notices: NoticeRef[] };
const revocationNoticeModel = (conn: Connection): Model<RevocationNoticeDoc> =>
  (conn.models.RevocationNotice as Model<RevocationNoticeDoc> | undefined) ?? conn.model<RevocationNoticeDoc>('RevocationNotice', revocationNoticeSchema);

/** Where the sweeper's last pass stopped: the (pendingSince, keyId) of the last key it saw. */
export interface SweepCursor {
  pendingSince: Date;
  keyId: string;
}

/**
 * The `notification` part of an ApiKey, as the jobs move it along pending → enqueued →
 * done, and the notices. Writes to the key's document are kept few (enqueued, done)
 * because on FerretDB 1.x concurrent updates of one document can overwrite each other; a
 * lost transition is put right by the sweeper, which settles any unfinished notification.
 */
export class NotificationStore {
  private readonly notices_: Model<RevocationNoticeDoc>;

  constructor(private readonly m: Models, conn: Connection) {
    this.notices_ = revocationNoticeModel(conn);
  }

  /** Creates the unique index the notice claim relies on. */
  async init(): Promise<void> {
    await this.notices_.createIndexes();
  }

  /** pending → enqueued (a no-op in any other state). */
  async markEnqueued(keyId: string): Promise<void> {
    await this.m.apiKeys.updateOne(
      { keyId, 'notification.state': 'pending' },
      { $set: { 'notification.state': 'enqueued', 'notification.enqueuedAt': new Date() } },
    );
  }

  /** → done with the final counts (or newer counts on a done one). True when this call wrote them. */
  async finish(keyId: string, c: DeliveryCounts): Promise<boolean> {
    const res = await this.m.apiKeys.updateOne(
      {
        keyId,
        $or: [
          { 'notification.state': { $in: ['pending', 'enqueued'] } },
          // Finished before a late delivery was added (a dependent linked during the revoke,
          // whose reopening raced this very finish): counts only grow, so recount.
          { 'notification.state': 'done', 'notification.total': { $lt: c.total } },
        ],
      },
      {
        $set: {
          'notification.state': 'done', 'notification.doneAt': new Date(),
          'notification.total': c.total, 'notification.delivered': c.delivered, 'notification.failed': c.failed, 'notification.gone': c.gone,
        },
      },
    );
    return res.modifiedCount === 1;
  }

  /** Claims the posting of the notices: true for exactly one caller per revocation. */
  async claimNotices(keyId: string): Promise<boolean> {
    try {
      await this.notices_.create({ keyId, claimedAt: new Date(), notices: [] });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === 11000) return false;
      throw e;
    }
  }

  /** Gives the claim back when nothing could be posted, so a retry may try again. */
  async releaseNotices(keyId: string): Promise<void> {
    await this.notices_.deleteOne({ keyId });
  }

  /** Records one posted notice, right after posting it (only the claimer writes here). */
  async addNotice(keyId: string, notice: NoticeRef): Promise<void> {
    await this.notices_.updateOne({ keyId }, { $push: { notices: notice } });
  }

  async notices(keyId: string): Promise<NoticeRef[]> {
    const d = await this.notices_.findOne({ keyId }).lean<RevocationNoticeDoc>();
    return (d?.notices ?? []).flatMap((n) => (n.channel && n.ts ? [{ channel: n.channel, ts: n.ts }] : []));
  }

  /**
   * Unfinished notifications revoked before `olderThan`, oldest first, after `cursor`
   * (so that successive passes walk through all of them, not the same first page).
   */
  async unfinished(olderThan: Date, limit: number, cursor?: SweepCursor): Promise<Array<{ keyId: string; communityId: string; pendingSince: Date }>> {
    const filter: Record<string, unknown> = { 'notification.state': { $in: ['pending', 'enqueued'] }, 'notification.pendingSince': { $lt: olderThan } };
    if (cursor) {
      filter.$or = [
        { 'notification.pendingSince': { $gt: cursor.pendingSince } },
        { 'notification.pendingSince': cursor.pendingSince, keyId: { $gt: cursor.keyId } },
      ];
    }
    const rows = await this.m.apiKeys.find(filter).sort({ 'notification.pendingSince': 1, keyId: 1 }).limit(limit).lean();
    return rows.map((r) => ({ keyId: r.keyId, communityId: r.communityId, pendingSince: r.notification?.pendingSince ?? new Date(0) }));
  }
}
