import type { AdminScope, AdminTokenRecord } from '../admin-tokens/admin-token-service.js';
import type { AdminTokenDoc } from './models/admin-token.js';
import type { Models } from './mongo.js';

const toRecord = (d: AdminTokenDoc & { _id: string }): AdminTokenRecord => ({
  tokenId: d._id,
  communityId: d.communityId,
  name: d.name,
  scopes: [...d.scopes] as AdminScope[],
  hint: d.hint,
  status: d.status,
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  revokedAt: d.revokedAt ?? undefined,
  revokedBy: d.revokedBy ?? undefined,
});

/** Persists admin tokens (hash, never the token). */
export class AdminTokenRepository {
  constructor(private readonly m: Models) {}

  /** Inserts; false when the name is taken in the community. */
  async insert(r: AdminTokenRecord, tokenHash: string): Promise<boolean> {
    try {
      const { tokenId, ...rest } = r;
      await this.m.adminTokens.create({ _id: tokenId, ...rest, tokenHash });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === 11000) return false;
      throw e;
    }
  }

  async list(communityId: string): Promise<AdminTokenRecord[]> {
    const rows = await this.m.adminTokens.find({ communityId }).sort({ createdAt: -1 }).lean();
    return rows.map((d) => toRecord(d as AdminTokenDoc & { _id: string }));
  }

  async find(communityId: string, tokenId: string): Promise<AdminTokenRecord | undefined> {
    const d = await this.m.adminTokens.findOne({ _id: tokenId, communityId }).lean();
    return d ? toRecord(d) : undefined;
  }

  async findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    const d = await this.m.adminTokens.findOne({ tokenHash }).lean();
    return d ? toRecord(d) : undefined;
  }

  /** active → revoked; the only writer of these fields. */
  async revoke(communityId: string, tokenId: string, by: string, at: Date): Promise<AdminTokenRecord | undefined> {
    const d = await this.m.adminTokens
      .findOneAndUpdate(
        { _id: tokenId, communityId, status: 'active' },
        { $set: { status: 'revoked', revokedAt: at, revokedBy: by } },
        { returnDocument: 'after' },
      )
      .lean();
    return d ? toRecord(d) : undefined;
  }
}
