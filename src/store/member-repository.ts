import type { Member, MemberRole } from '../members/member-record.js';
import type { MemberDoc } from './models/member.js';
import type { MemberDirectory } from './member-directory.js';
import type { Models } from './mongo.js';

const toMember = (d: MemberDoc): Member => ({
  communityId: d.communityId,
  slackUserId: d.slackUserId,
  role: d.role,
  platformIdentity: d.platformIdentity ?? undefined,
  addedBy: d.addedBy,
  addedAt: d.addedAt,
});

/**
 * The one writer of `members` (the admin mapping) and of `communities.seededAdmins`. Member
 * documents have no field written elsewhere, so FerretDB's whole-document rewrites lose nothing.
 * With a member directory, `find` is served from memory and every change is announced to it
 * after it is committed (src/store/member-directory.ts says why that is safe).
 */
export class MemberRepository {
  constructor(
    private readonly m: Models,
    private readonly directory?: MemberDirectory,
  ) {}

  /** Every member of a community, unsorted (what the member directory holds). */
  async ofCommunity(communityId: string): Promise<Member[]> {
    return (await this.m.members.find({ communityId }).lean()).map(toMember);
  }

  /** Adds `ids` to the community's seeded admins and returns those that were not there before. */
  async markSeeded(communityId: string, ids: readonly string[]): Promise<string[]> {
    const before = await this.m.communities
      .findOneAndUpdate({ communityId }, { $addToSet: { seededAdmins: { $each: [...ids] } } }, { upsert: true, returnDocument: 'before' })
      .lean();
    const already = new Set(before?.seededAdmins ?? []);
    return ids.filter((id) => !already.has(id));
  }

  /** Inserts `member` unless the user is mapped already (whatever their role); true if inserted. */
  async insertIfAbsent(member: Member): Promise<boolean> {
    const { communityId, slackUserId } = member;
    const res = await this.m.members.updateOne({ communityId, slackUserId }, { $setOnInsert: member }, { upsert: true });
    if (res.upsertedCount > 0) await this.directory?.changed(communityId);
    return res.upsertedCount > 0;
  }

  async find(communityId: string, slackUserId: string): Promise<Member | undefined> {
    const held = await this.directory?.find(communityId, slackUserId);
    if (held !== undefined) return held ?? undefined;
    const d = await this.m.members.findOne({ communityId, slackUserId }).lean();
    return d ? toMember(d) : undefined;
  }

  /** A community's members, admins first, then by Slack id. */
  async list(communityId: string): Promise<Member[]> {
    return (await this.m.members.find({ communityId }).sort({ role: 1, slackUserId: 1 }).lean()).map(toMember);
  }

  async adminIds(communityId: string): Promise<string[]> {
    return (await this.m.members.find({ communityId, role: 'admin' }).lean()).map((d) => d.slackUserId);
  }

  adminCount(communityId: string): Promise<number> {
    return this.m.members.countDocuments({ communityId, role: 'admin' });
  }

  /**
   * Sets a member's role (and platform identity, when given), mapping the user with `added`
   * if they were not; returns the member as they were before (undefined: just added).
   */
  async setRole(
    communityId: string,
    slackUserId: string,
    role: MemberRole,
    platformIdentity: string | undefined,
    added: { addedBy: string; addedAt: Date },
  ): Promise<Member | undefined> {
    const before = await this.m.members
      .findOneAndUpdate(
        { communityId, slackUserId },
        { $set: { role, ...(platformIdentity ? { platformIdentity } : {}) }, $setOnInsert: { communityId, slackUserId, ...added } },
        { upsert: true, returnDocument: 'before' },
      )
      .lean();
    await this.directory?.changed(communityId);
    return before ? toMember(before) : undefined;
  }

  /** Removes a member and returns them as they were (undefined: not mapped). */
  async remove(communityId: string, slackUserId: string): Promise<Member | undefined> {
    const removed = await this.m.members.findOneAndDelete({ communityId, slackUserId }).lean();
    if (removed) await this.directory?.changed(communityId);
    return removed ? toMember(removed) : undefined;
  }
}
