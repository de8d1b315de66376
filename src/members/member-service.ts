import { KeyError } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { MemberRepository } from '../store/member-repository.js';
import type { Member, MemberRole } from './member-record.js';

export type { Member, MemberRole } from './member-record.js';

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
    private readonly repo: MemberRepository,
    private readonly audit: AuditLog,
    private readonly seedAdmins: readonly string[],
  ) {}

  /**
   * Seeds ADMIN_SLACK_USER_IDS into a community once per id: an id added to the variable
   * later is seeded then, and an admin removed with `members remove` stays removed.
   */
  async ensureSeeded(communityId: string): Promise<void> {
    if (this.seeded.has(communityId) || this.seedAdmins.length === 0) return;
    const fresh = await this.repo.markSeeded(communityId, this.seedAdmins);
    const addedAt = new Date();
    for (const slackUserId of fresh) {
      if (await this.repo.insertIfAbsent({ communityId, slackUserId, role: 'admin', addedBy: 'ADMIN_SLACK_USER_IDS', addedAt })) {
        await this.audit.record({ communityId, actor: 'ADMIN_SLACK_USER_IDS', action: 'member.added', target: slackUserId, details: { role: 'admin' } });
      }
    }
    this.seeded.add(communityId);
  }

  /** The caller's role, or undefined for an unmapped user. */
  async roleOf(actor: Actor): Promise<MemberRole | undefined> {
    if (actor.grant) return 'admin';
    await this.ensureSeeded(actor.communityId);
    return (await this.repo.find(actor.communityId, actor.userId))?.role;
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
    return this.repo.list(actor.communityId);
  }

  /** The Slack ids of a community's admins (whom requests go to when there is no approvals channel). */
  adminIds(communityId: string): Promise<string[]> {
    return this.repo.adminIds(communityId);
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
    const before = await this.repo.setRole(communityId, slackUserId, role, platformIdentity, { addedBy: actor.userId, addedAt: new Date() });
    if (before?.role === 'admin' && role !== 'admin' && (await this.repo.adminCount(communityId)) === 0) {
      // Compensate instead of a transaction: whoever finds no admin left puts theirs back.
      await this.repo.setRole(communityId, slackUserId, 'admin', undefined, { addedBy: before.addedBy, addedAt: before.addedAt });
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
    const after = await this.repo.find(communityId, slackUserId);
    return { member: after!, change };
  }

  /** Removes a member. The last admin of a community can never be removed. */
  async remove(actor: Actor, slackUserId: string): Promise<void> {
    await this.requireAdmin(actor, 'manage members');
    const { communityId } = actor;
    const removed = await this.repo.remove(communityId, slackUserId);
    if (!removed) throw new KeyError('not_found', `<@${slackUserId}> is not a member.`);
    if (removed.role === 'admin' && (await this.repo.adminCount(communityId)) === 0) {
      await this.repo.insertIfAbsent(removed);
      throw new KeyError('conflict', 'That is the last admin of this workspace; add another admin first.');
    }
    await this.audit.record({ communityId, ...auditActor(actor), action: 'member.removed', target: slackUserId, details: { role: removed.role } });
  }
}
