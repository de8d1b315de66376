import type { Models } from './mongo.js';

/** A create through the management API under one `Idempotency-Key`. */
export interface IdempotencyRecord {
  /** Derived from (community, admin token, idempotency key). */
  id: string;
  communityId: string;
  /** The keyId the winning request creates (chosen before the insert). */
  keyId: string;
  /** SHA-256 of the request body: a repeat with another body is refused. */
  bodyHash: string;
  createdAt: Date;
}

/** The one writer of `idempotency_keys`: records are inserted once, or deleted by the request that inserted them. */
export class IdempotencyRepository {
  constructor(private readonly m: Models) {}

  /** Inserts the record; false when one with its id exists (another request decided). */
  async claim(r: IdempotencyRecord): Promise<boolean> {
    const { id, ...rest } = r;
    try {
      await this.m.idempotency.create({ _id: id, ...rest });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === 11000) return false;
      throw e;
    }
  }

  async find(id: string): Promise<IdempotencyRecord | undefined> {
    const d = await this.m.idempotency.findById(id).lean();
    return d ? { id: d._id, communityId: d.communityId, keyId: d.keyId, bodyHash: d.bodyHash, createdAt: d.createdAt } : undefined;
  }

  /** Gives a claim back (its create failed), so that a retry may create. */
  async release(id: string): Promise<void> {
    await this.m.idempotency.deleteOne({ _id: id });
  }
}
