import type { mongo } from 'mongoose';
import type { DeliveryCounts } from '../dependents/delivery-record.js';
import { BatchedInserter } from './batched-inserter.js';
import type { KeyRepository } from './key-repository.js';
import type { NoticeRef, RevocationNoticeDoc } from './models/revocation-notice.js';
import type { Models } from './mongo.js';

export type { NoticeRef } from './models/revocation-notice.js';

/** Where the sweeper's last pass stopped: the (pendingSince, keyId) of the last key it saw. */
export interface SweepCursor {
  pendingSince: Date;
  keyId: string;
}

/**
 * What the jobs need to carry a revocation's (or expiry's) notification along pending →
 * enqueued → done, and its Slack notices. The key's `notification` field is written by
 * KeyRepository alone (one writer per field); the notices are this store's own collection.
 */
export class NotificationStore {
  /** Claims of concurrent fan-outs (a mass revocation), inserted together. */
  private readonly claims: BatchedInserter<RevocationNoticeDoc & { _id: string }>;

  constructor(
    private readonly keys: KeyRepository,
    private readonly m: Models,
  ) {
    this.claims = new BatchedInserter((docs) => this.notices_.insertMany(docs, { ordered: false }), { lingerMs: 2, maxBatch: 500 });
  }

  /** The driver's collection: string `_id`s as given (the model's `_id` is an ObjectId). */
  private get notices_() {
    return this.m.revocationNotices.collection as unknown as mongo.Collection<RevocationNoticeDoc & { _id: string }>;
  }

  /** Creates the unique index the notice claim relies on. */
  async init(): Promise<void> {
    await this.m.revocationNotices.createIndexes();
  }

  /** pending → enqueued (a no-op in any other state). */
  markEnqueued(keyId: string): Promise<void> {
    return this.keys.markNotificationEnqueued(keyId);
  }

  /** → done with the final counts (or newer counts on a done one). True when this call wrote them. */
  finish(keyId: string, c: DeliveryCounts): Promise<boolean> {
    return this.keys.finishNotification(keyId, c);
  }

  /**
   * Unfinished notifications revoked before `olderThan`, oldest first, after `cursor`
   * (so that successive passes walk through all of them, not the same first page).
   */
  unfinished(olderThan: Date, limit: number, cursor?: SweepCursor): Promise<Array<{ keyId: string; communityId: string; pendingSince: Date }>> {
    return this.keys.unfinishedNotifications(olderThan, limit, cursor);
  }

  /**
   * Claims the posting of the notices: true for exactly one caller per revocation. The claim
   * is stored under `_id` = keyId, so that it is read and written by `_id`, the one filter
   * FerretDB v1 pushes down (claims of older versions have an ObjectId and are found by keyId).
   */
  async claimNotices(keyId: string): Promise<boolean> {
    return (await this.claims.insert({ _id: keyId, keyId, claimedAt: new Date(), notices: [] })) === 'inserted';
  }

  /** Gives the claim back when nothing could be posted, so a retry may try again. */
  async releaseNotices(keyId: string): Promise<void> {
    const res = await this.notices_.deleteOne({ _id: keyId });
    if (res.deletedCount === 0) await this.m.revocationNotices.deleteOne({ keyId });
  }

  /** Records one posted notice, right after posting it (only the claimer writes here). */
  async addNotice(keyId: string, notice: NoticeRef): Promise<void> {
    const res = await this.notices_.updateOne({ _id: keyId }, { $push: { notices: notice } });
    if (res.matchedCount === 0) await this.m.revocationNotices.updateOne({ keyId }, { $push: { notices: notice } });
  }

  async notices(keyId: string): Promise<NoticeRef[]> {
    const d = (await this.notices_.findOne({ _id: keyId })) ?? (await this.m.revocationNotices.findOne({ keyId }).lean<RevocationNoticeDoc>());
    return (d?.notices ?? []).flatMap((n) => (n.channel && n.ts ? [{ channel: n.channel, ts: n.ts }] : []));
  }
}
