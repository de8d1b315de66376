import { KeyError } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Models } from '../store/mongo.js';

export type MemberRole = 'admin' | 'viewer';

export interface Member {
  communityId: string;
  slackUserId: string;
  role: MemberRole;
  platformIdentity?: string;
  addedBy: string;
  addedAt: Date;
}

/** Who is calling: the Slack user and the community the request came from. */
export interface Actor {
  communityId: string;
  /** A Slack user id; `token:<name>` for a management API token; `cli:<os user>` for break-glass. */
  userId: string;
  /**
   * Set only by the server for callers that are not Slack users: a management API token
   * (authenticated by hash, its scopes checked by the route before the domain is called) or
   * the break-glass CLI (run by whoever holds the server's database credentials). Both act
   * as an admin; Slack payloads never produce one.
   */
  grant?: { kind: 'token'; tokenId: string; createdBy: string } | { kind: 'break-glass' };
}

/** The audit fields for an actor: who, and for a token, the admin who created it. */
export const auditActor = (actor: Actor): { actor: string; onBehalfOf?: string } =>
  actor.grant?.kind === 'token' ? { actor: actor.userId, onBehalfOf: actor.grant.createdBy } : { actor: actor.userId };

/** The Slack user → platform identity mapping, and the authorization checks built on it. */
export class MemberService {
  private readonly seeded = new Set<string>();

  constructor(
    private readonly m: Models,
    private readonly audit: AuditLog,
    private readonly seedAdmins: readonly string[],
  ) {}

  /**
   * Seeds ADMIN_SLACK_USER_IDS into a community once per id: an id added to the variable
   * later is seeded then, and an admin removed with `members remove` stays removed.
   */
  async ensureSeeded(communityId: string): Promise<void> {
    if (this.seeded.has(communityId) || this.seedAdmins.length === 0) return;
    const before = await this.m.communities
      .findOneAndUpdate({ communityId }, { $addToSet: { seededAdmins: { $each: [...this.seedAdmins] } } }, { upsert: true, returnDocument: 'before' })
      .lean();
    const already = new Set(before?.seededAdmins ?? []);
    const fresh = this.seedAdmins.filter((id) => !already.has(id));
    const at = new Date();
    for (const slackUserId of fresh) {
      const res = await this.m.members.updateOne(
        { communityId, slackUserId },
        { $setOnInsert: { communityId, slackUserId, role: 'admin', addedBy: 'ADMIN_SLACK_USER_IDS', addedAt: at } },
        { upsert: true },
      );
      if (res.upsertedCount) {
        await this.audit.record({ communityId, actor: 'ADMIN_SLACK_USER_IDS', action: 'member.added', target: slackUserId, details: { role: 'admin' } });
      }
    }
    this.seeded.add(communityId);
  }

  /** The caller's role, or undefined for an unmapped user. */
  async roleOf(actor: Actor): Promise<MemberRole | undefined> {
    if (actor.grant) return 'admin';
    await this.ensureSeeded(actor.communityId);
    const m = await this.m.members.findOne({ communityId: actor.communityId, slackUserId: actor.userId }).lean();
    return m?.role;
  }

  /** Throws `forbidden` unless the caller is an admin. */
  async requireAdmin(actor: Actor, doing: string): Promise<void> {
    const role = await this.roleOf(actor);
    if (role !== 'admin') {
      throw new KeyError(
        'forbidden',
        role
          ? `Only Keywarden admins can ${doing}. You are a viewer; ask an admin (\`/apikey members list\`).`
          : `Only Keywarden admins can ${doing}. You are not mapped to a platform identity; ask an admin to add you.`,
      );
    }
  }

  /** Throws `forbidden` unless the caller is a viewer or an admin. */
  async requireMember(actor: Actor, doing: string): Promise<MemberRole> {
    const role = await this.roleOf(actor);
    if (!role) throw new KeyError('forbidden', `You are not mapped to a platform identity, so you cannot ${doing}. Ask a Keywarden admin to add you.`);
    return role;
  }

  async list(actor: Actor): Promise<Member[]> {
    await this.requireMember(actor, 'list members');
    const rows = await this.m.members.find({ communityId: actor.communityId }).sort({ role: 1, slackUserId: 1 }).lean();
    return rows.map((r) => ({ ...r, role: r.role, platformIdentity: r.platformIdentity ?? undefined }));
  }

  private adminCount(communityId: string) {
    return this.m.members.countDocuments({ communityId, role: 'admin' });
  }

  /** Adds a member or changes their role. Demoting the last admin is refused. */
  async set(
    actor: Actor,
    slackUserId: string,
    role: MemberRole,
    platformIdentity?: string,
  ): Promise<{ member: Member; change: 'added' | 'role_changed' | 'unchanged' }> {
    await this.requireAdmin(actor, 'manage members');
    const { communityId } = actor;
    const before = await this.m.members
      .findOneAndUpdate(
        { communityId, slackUserId },
        {
          $set: { role, ...(platformIdentity ? { platformIdentity } : {}) },
          $setOnInsert: { communityId, slackUserId, addedBy: actor.userId, addedAt: new Date() },
        },
        { upsert: true, returnDocument: 'before' },
      )
      .lean();
    if (before?.role === 'admin' && role !== 'admin' && (await this.adminCount(communityId)) === 0) {
      // Compensate instead of a transaction: whoever finds no admin left puts theirs back.
      await this.m.members.updateOne({ communityId, slackUserId }, { $set: { role: 'admin' } });
      throw new KeyError('conflict', 'That is the last admin of this workspace; add another admin first.');
    }
    const change = !before ? 'added' : before.role !== role ? 'role_changed' : 'unchanged';
    if (change !== 'unchanged') {
      await this.audit.record({
        communityId,
        ...auditActor(actor),
        action: change === 'added' ? 'member.added' : 'member.role_changed',
        target: slackUserId,
        details: { role, from: before?.role },
      });
    }
    const after = await this.m.members.findOne({ communityId, slackUserId }).lean();
    return { member: { ...after!, role: after!.role, platformIdentity: after!.platformIdentity ?? undefined }, change };
  }

  /** Removes a member. The last admin of a community can never be removed. */
  async remove(actor: Actor, slackUserId: string): Promise<void> {
    await this.requireAdmin(actor, 'manage members');
    const { communityId } = actor;
    const removed = await this.m.members.findOneAndDelete({ communityId, slackUserId }).lean();
    if (!removed) throw new KeyError('not_found', `<@${slackUserId}> is not a member.`);
    if (removed.role === 'admin' && (await this.adminCount(communityId)) === 0) {
      const { _id, ...rest } = removed;
      await this.m.members.updateOne({ communityId, slackUserId }, { $setOnInsert: rest }, { upsert: true });
      throw new KeyError('conflict', 'That is the last admin of this workspace; add another admin first.');
    }
    await this.audit.record({ communityId, ...auditActor(actor), action: 'member.removed', target: slackUserId, details: { role: removed.role } });
  }
}
