import mongoose from 'mongoose';
import type { Models } from './mongo.js';
import type { DependentDoc } from './models/dependent.js';
import type { DependentCursor, DependentRecord, DependentStatus, SigningDependent } from '../dependents/dependent-record.js';
import type { SecretBox } from '../dependents/secret-box.js';

function toRecord(d: DependentDoc): DependentRecord {
  return {
    communityId: d.communityId,
    dependentId: d.dependentId,
    keyId: d.keyId,
    kind: d.kind,
    name: d.name,
    webhookUrl: d.webhookUrl,
    status: d.status,
    createdBy: d.createdBy,
    createdAt: d.createdAt,
  };
}

/** What a fan-out needs of an active dependent: where to send, how to sign, its name for the notice. */
export type FanoutDependent = Pick<SigningDependent, 'dependentId' | 'keyId' | 'name' | 'webhookUrl' | 'status' | 'signingSecret'>;
const fanoutFields = { _id: 0, dependentId: 1, keyId: 1, name: 1, webhookUrl: 1, signingSecret: 1 } as const;
type RawFanoutDependent = Omit<FanoutDependent, 'status'>;
/** A `find` or `getMore` answer. */
type Page = { cursor: { id: unknown; firstBatch?: RawFanoutDependent[]; nextBatch?: RawFanoutDependent[] } };

/** A cursor id as the server sent it (read without promoting longs); 0 once the cursor is exhausted. */
const isExhausted = (id: unknown) => id === 0 || id === undefined || id === null || (id instanceof mongoose.mongo.Long && id.isZero());
/** `getMore` and `killCursors` want a 64-bit id; a server may answer a small one as a 32-bit int. */
const asLong = (id: unknown) => (typeof id === 'number' ? mongoose.mongo.Long.fromNumber(id) : id);

/** The additional data a dependent's sealed secret is bound to. */
const secretContext = (dependentId: string) => `dependent:${dependentId}`;

/**
 * Dependents in MongoDB. Only {@link findForSigning} returns a secret; secrets are sealed
 * with the {@link SecretBox} before they are written (plain text only without SECRETS_KEY).
 */
export class DependentRepository {
  constructor(
    private readonly m: Models,
    private readonly box: SecretBox,
  ) {}

  async insert(d: DependentRecord & { signingSecret: string }): Promise<DependentRecord> {
    const doc = await this.m.dependents.create({ ...d, signingSecret: this.box.seal(d.signingSecret, secretContext(d.dependentId)) });
    return toRecord(doc.toObject());
  }

  async find(communityId: string, dependentId: string): Promise<DependentRecord | undefined> {
    const d = await this.m.dependents.findOne({ communityId, dependentId }).lean<DependentDoc>();
    return d ? toRecord(d) : undefined;
  }

  /** Every dependent of a key that was ever linked, oldest first. */
  async forKey(communityId: string, keyId: string): Promise<DependentRecord[]> {
    const rows = await this.m.dependents.find({ communityId, keyId }).sort({ createdAt: 1, dependentId: 1 }).lean<DependentDoc[]>();
    return rows.map(toRecord);
  }

  /** Active dependents of a key (the worker's fan-out list), oldest first. */
  async activeForKey(keyId: string): Promise<DependentRecord[]> {
    const rows = await this.m.dependents.find({ keyId, status: 'active' }).sort({ createdAt: 1, dependentId: 1 }).lean<DependentDoc[]>();
    return rows.map(toRecord);
  }

  /**
   * Dependents created before `olderThan`, oldest first, after `cursor` (the sweeper walks
   * them to find any linked while its key was being revoked and never told).
   */
  async createdBefore(olderThan: Date, limit: number, cursor?: DependentCursor): Promise<DependentRecord[]> {
    const filter: Record<string, unknown> = { createdAt: { $lt: olderThan } };
    if (cursor) filter.$or = [{ createdAt: { $gt: cursor.createdAt } }, { createdAt: cursor.createdAt, dependentId: { $gt: cursor.dependentId } }];
    const rows = await this.m.dependents.find(filter).sort({ createdAt: 1, dependentId: 1 }).limit(limit).lean<DependentDoc[]>();
    return rows.map(toRecord);
  }

  async findForSigning(dependentId: string): Promise<SigningDependent | undefined> {
    const d = await this.m.dependents.findOne({ dependentId }).lean<DependentDoc>();
    return d ? { ...toRecord(d), signingSecret: this.box.open(d.signingSecret, secretContext(d.dependentId)) } : undefined;
  }

  /**
   * The active dependents of these keys with their secrets, only the fields a fan-out uses,
   * in pages as MongoDB finds them (unsorted: the fan-out needs no order, a re-run finds what
   * is left by webhook-id). One read serves many keys: on FerretDB each read scans the
   * collection.
   *
   * Pages grow: the first holds `first` dependents, so that a fan-out sends to them while
   * the scan goes on; each later page is twice the one before, up to `most`. Every command
   * costs the worker's process 1–2 ms of CPU whatever it carries, so fewer, larger pages are
   * cheaper; but FerretDB answers a page only once it has found all of it, so pages of
   * 1,000 left the POSTs of a mass revocation (matches at the end of a long scan) waiting:
   * 200 is the largest page. Written as the `find` and `getMore` commands themselves (the
   * wire protocol's own), because the driver's cursor keeps one batch size for every page
   * and hands documents out one promise at a time: reading 1,000 dependents in pages of 100
   * through it cost the worker about 40 ms of CPU, a handful of pages read like this about
   * 10 ms.
   */
  async *activeForSigning(keyIds: string[], first = 50, most = 200): AsyncGenerator<FanoutDependent[]> {
    const db = this.m.dependents.db.db;
    if (!db) throw new Error('MongoDB is not connected');
    const collection = this.m.dependents.collection.collectionName;
    // One session for the find and its getMores: MongoDB refuses a getMore from another
    // session than the cursor's (the driver's cursor does this itself).
    const session = this.m.dependents.db.getClient().startSession();
    const run = (command: Record<string, unknown>) => db.command(command, { session, promoteLongs: false }) as Promise<Page>;
    let id: unknown;
    try {
      let batchSize = first;
      let page = await run({
        find: collection,
        filter: { keyId: keyIds.length === 1 ? keyIds[0]! : { $in: keyIds }, status: 'active' },
        projection: fanoutFields,
        batchSize,
      });
      id = page.cursor.id;
      for (;;) {
        const docs = page.cursor.firstBatch ?? page.cursor.nextBatch ?? [];
        if (docs.length > 0) yield docs.map((d) => this.toFanout(d));
        if (isExhausted(id)) return;
        batchSize = Math.min(most, batchSize * 2);
        page = await run({ getMore: asLong(id), collection, batchSize });
        id = page.cursor.id;
      }
    } finally {
      // Left early (the consumer stopped, or a page failed): the server's cursor is closed.
      if (!isExhausted(id)) await run({ killCursors: collection, cursors: [asLong(id)] }).catch(() => undefined);
      await session.endSession();
    }
  }

  private toFanout(d: RawFanoutDependent): FanoutDependent {
    return {
      dependentId: d.dependentId,
      keyId: d.keyId,
      name: d.name,
      webhookUrl: d.webhookUrl,
      status: 'active',
      signingSecret: this.box.open(d.signingSecret, secretContext(d.dependentId)),
    };
  }

  /** Every stored secret as it is stored (sealed or not), for the start-up check. */
  async storedSecrets(): Promise<Array<{ dependentId: string; signingSecret: string }>> {
    return this.m.dependents.find({}, { _id: 0, dependentId: 1, signingSecret: 1 }).lean<Array<{ dependentId: string; signingSecret: string }>>();
  }

  /**
   * Seals one stored secret again with the first key (plain text, or sealed with an older
   * key). Only this field is written, and only while it still holds `stored`.
   */
  async reseal(dependentId: string, stored: string): Promise<void> {
    const sealed = this.box.seal(this.box.open(stored, secretContext(dependentId)), secretContext(dependentId));
    await this.m.dependents.updateOne({ dependentId, signingSecret: stored }, { $set: { signingSecret: sealed } });
  }

  /** Conditional status change: returns the record when it changed from `from`. */
  async setStatus(dependentId: string, from: DependentStatus, to: DependentStatus, communityId?: string): Promise<DependentRecord | undefined> {
    const d = await this.m.dependents
      .findOneAndUpdate({ dependentId, status: from, ...(communityId ? { communityId } : {}) }, { $set: { status: to } }, { returnDocument: 'after' })
      .lean<DependentDoc>();
    return d ? toRecord(d) : undefined;
  }
}
