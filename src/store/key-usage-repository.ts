import type { Models } from './mongo.js';

/**
 * The one writer of the usage collection (`key_usage.lastUsedAt`). Usage lives apart from
 * the key documents: FerretDB v1 rewrites whole documents, so a usage write racing a revoke
 * could otherwise restore `status: active`. KeyRepository only reads it.
 */
export class KeyUsageRepository {
  constructor(private readonly m: Models) {}

  /** One bulk write of the latest use of each key; never moves a date backwards. */
  async touchLastUsed(seen: Map<string, Date>): Promise<void> {
    if (seen.size === 0) return;
    const ops = [...seen].map(([keyId, at]) => ({
      updateOne: { filter: { keyId }, update: { $max: { lastUsedAt: at } }, upsert: true },
    }));
    try {
      await this.m.keyUsage.bulkWrite(ops, { ordered: false });
    } catch (e) {
      // Two writers upserting the same first use: the loser's retry finds the document.
      if ((e as { code?: number }).code !== 11000) throw e;
      await this.m.keyUsage.bulkWrite(ops, { ordered: false });
    }
  }
}
