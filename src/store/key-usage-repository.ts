import type { Logger } from '../log.js';
import type { KeyDirectory } from './key-directory.js';
import type { Models } from './mongo.js';

/** The unique index of the older shape (`keyId`), which documents keyed by keyId no longer need. */
const OLD_INDEX = 'keyId_1';

/**
 * The one writer of the usage collection (`key_usage.lastUsedAt`). Usage lives apart from
 * the key documents: FerretDB v1 rewrites whole documents, so a usage write racing a revoke
 * could otherwise restore `status: active`. Each document's `_id` is its keyId, so every read
 * and write here is by `_id`, which FerretDB v1 hands to SQLite instead of decoding every
document in Go (SQLite still scans the table: see key-directory.ts). Lists take lastUsedAt
from the key directory, which this repository tells of each write.
 */
export class KeyUsageRepository {
  private migrated: Promise<void> | undefined;

  constructor(
    private readonly m: Models,
    private readonly log?: Logger,
    /** Told of each write, so that every replica's lists show it (see key-directory.ts). */
    private readonly directory?: KeyDirectory,
  ) {}

  /**
   * Moves documents of the older shape (an ObjectId `_id`, found by `keyId`) to `_id: keyId`,
   * and drops the older unique index on `keyId`. Idempotent, safe to run by several
   * processes at once (an upsert keeping the later time, then a delete); once per process,
   * before its first read or write (a failed run is tried again at the next).
   */
  migrate(): Promise<void> {
    this.migrated ??= this.moveOldDocuments().catch((e: unknown) => {
      this.migrated = undefined;
      throw e;
    });
    return this.migrated;
  }

  private async moveOldDocuments(): Promise<void> {
    const coll = this.m.keyUsage.collection;
    // The new documents share a keyId value with the old ones until these are deleted.
    await coll.dropIndex(OLD_INDEX).catch(() => undefined);
    const old = await coll.find({ _id: { $type: 'objectId' } }).toArray();
    for (const d of old) {
      const keyId = (d as { keyId?: unknown }).keyId;
      const at = (d as { lastUsedAt?: unknown }).lastUsedAt;
      if (typeof keyId === 'string' && at instanceof Date) {
        const move = () => coll.updateOne({ _id: keyId as never }, { $max: { lastUsedAt: at }, $set: { keyId } }, { upsert: true });
        // Another process moving the same document inserted it first: update it instead.
        await move().catch((e: unknown) => {
          if ((e as { code?: number }).code !== 11000) throw e;
          return move();
        });
      }
      await coll.deleteOne({ _id: d._id });
    }
    if (old.length) this.log?.info({ moved: old.length }, 'key_usage: documents moved to _id = keyId');
  }

  /** One bulk write of the latest use of each key; never moves a date backwards. */
  async touchLastUsed(seen: Map<string, Date>): Promise<void> {
    if (seen.size === 0) return;
    await this.migrate();
    const ops = [...seen].map(([keyId, at]) => ({
      updateOne: { filter: { _id: keyId }, update: { $max: { lastUsedAt: at }, $set: { keyId } }, upsert: true },
    }));
    try {
      await this.m.keyUsage.bulkWrite(ops, { ordered: false });
    } catch (e) {
      // Two writers upserting the same first use: the loser's retry finds the document.
      if ((e as { code?: number }).code !== 11000) throw e;
      await this.m.keyUsage.bulkWrite(ops, { ordered: false });
    }
    await this.directory?.used(seen);
  }

  /** When each of these keys was last used (keys never used are absent): one read by `_id` per key, in parallel. */
  async lastUsed(keyIds: string[]): Promise<Map<string, Date>> {
    if (keyIds.length === 0) return new Map();
    await this.migrate();
    const rows = await Promise.all([...new Set(keyIds)].map((keyId) => this.m.keyUsage.findById(keyId, { lastUsedAt: 1 }).lean()));
    return new Map(rows.flatMap((r) => (r ? [[r._id, r.lastUsedAt] as [string, Date]] : [])));
  }
}
