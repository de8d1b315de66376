import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { KeyError } from '../errors.js';
import { checkToken, generateToken, hashToken, randomBase62, tokenHint } from '../keys/token.js';
import type { Logger } from '../log.js';
import { auditActor, type Actor, type MemberService } from '../members/member-service.js';
import type { AdminTokenRepository } from '../store/admin-token-repository.js';
import type { Clock } from '../util/clock.js';

/** What a management API token may be allowed to do. */
export const adminScopes = ['keys:read', 'keys:write', 'keys:revoke', 'dependents:write', 'audit:read'] as const;
export type AdminScope = (typeof adminScopes)[number];

export const ADMIN_TOKEN_NAME_RULE = 'A token name is 1–64 letters, digits, dots, dashes or underscores (it names the token in the audit trail).';
const SCOPES_RULE = `Give one or more scopes: ${adminScopes.join(', ')}.`;

export const createAdminTokenInput = z.object({
  name: z
    .string({ message: ADMIN_TOKEN_NAME_RULE })
    .trim()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: ADMIN_TOKEN_NAME_RULE }),
  scopes: z.array(z.enum(adminScopes, { message: SCOPES_RULE }), { message: SCOPES_RULE }).min(1, { message: SCOPES_RULE }),
});

/** An admin token as the rest of the code sees it: everything but the hash. */
export interface AdminTokenRecord {
  tokenId: string;
  communityId: string;
  name: string;
  scopes: AdminScope[];
  hint: string;
  status: 'active' | 'revoked';
  createdBy: string;
  createdAt: Date;
  revokedAt?: Date;
  revokedBy?: string;
}

/** The prefix of admin tokens: `<KEY_PREFIX>adm` (`kwadm_…`), so a key never passes as one. */
export const adminTokenPrefix = (keyPrefix: string) => `${keyPrefix}adm`;

/**
 * Tokens for the management API. Generated, checksummed and hashed like API keys (the secret
 * is returned once and stored only as a hash), with their own prefix and a set of scopes.
 */
export class AdminTokenService {
  private readonly prefix: string;

  constructor(
    private readonly repo: AdminTokenRepository,
    private readonly members: MemberService,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly opts: { keyPrefix: string; pepper?: string },
  ) {
    this.prefix = adminTokenPrefix(opts.keyPrefix);
  }

  /** Creates a token (admins). The secret is returned here once and exists nowhere else. */
  async create(actor: Actor, input: unknown): Promise<{ token: AdminTokenRecord; secret: string }> {
    await this.members.requireAdmin(actor, 'create admin tokens');
    const parsed = createAdminTokenInput.safeParse(input);
    if (!parsed.success) throw new KeyError('invalid_input', parsed.error.issues[0]!.message);
    const secret = generateToken(this.prefix);
    const record: AdminTokenRecord = {
      tokenId: `at_${randomBase62(12, '0123456789abcdefghijklmnopqrstuvwxyz')}`,
      communityId: actor.communityId,
      name: parsed.data.name,
      scopes: [...new Set(parsed.data.scopes)],
      hint: tokenHint(secret),
      status: 'active',
      createdBy: actor.userId,
      createdAt: new Date(this.clock.now()),
    };
    const inserted = await this.repo.insert(record, hashToken(secret, this.opts.pepper));
    if (!inserted)
      throw new KeyError(
        'conflict',
        `There is already an admin token named \`${record.name}\` (names stay taken after a revoke, so the audit trail is unambiguous). Pick another name.`,
      );
    await this.audit.record({
      communityId: actor.communityId,
      ...auditActor(actor),
      action: 'admin_token.created',
      target: record.tokenId,
      details: { name: record.name, scopes: record.scopes },
    });
    this.log.info({ communityId: actor.communityId, tokenId: record.tokenId, by: actor.userId }, 'admin token created');
    return { token: record, secret };
  }

  async list(actor: Actor): Promise<AdminTokenRecord[]> {
    await this.members.requireAdmin(actor, 'list admin tokens');
    return this.repo.list(actor.communityId);
  }

  /** Revokes a token (admins): from then on it is answered 401. Revoking twice is a no-op. */
  async revoke(actor: Actor, tokenId: string): Promise<{ token: AdminTokenRecord; changed: boolean }> {
    await this.members.requireAdmin(actor, 'revoke admin tokens');
    const id = tokenId.trim().replace(/^`|`$/g, '').toLowerCase();
    const current = await this.repo.find(actor.communityId, id);
    if (!current) throw new KeyError('not_found', `No admin token \`${tokenId}\` in this workspace.`);
    if (current.status === 'revoked') return { token: current, changed: false };
    const at = new Date(this.clock.now());
    const won = await this.audit.recordOnce(`admin_token.revoked:${actor.communityId}:${id}`, {
      communityId: actor.communityId,
      ...auditActor(actor),
      action: 'admin_token.revoked',
      target: id,
      details: { name: current.name },
      at,
    });
    const revoked = (await this.repo.revoke(actor.communityId, id, actor.userId, at)) ?? current;
    if (won) this.log.info({ communityId: actor.communityId, tokenId: id, by: actor.userId }, 'admin token revoked');
    return { token: revoked, changed: won };
  }

  /**
   * The actor a presented bearer token acts as, or undefined for anything that is not an
   * active admin token whose creator is still an admin (shape and checksum checked before any read).
   */
  async authenticate(presented: string): Promise<{ actor: Actor; token: AdminTokenRecord } | undefined> {
    if (!checkToken(presented, this.prefix).ok) return undefined;
    const token = await this.repo.findByHash(hashToken(presented, this.opts.pepper));
    if (!token || token.status !== 'active') return undefined;
    // A token acts for the admin who made it: once they are no longer an admin, neither is it.
    // Tokens made with the CLI's --break-glass (creator `cli:<os user>`) have no membership to
    // lose: whoever made them had the database itself; revoke them by id.
    if (!token.createdBy.startsWith('cli:') && (await this.members.roleOf({ communityId: token.communityId, userId: token.createdBy })) !== 'admin') {
      return undefined;
    }
    return {
      token,
      actor: { communityId: token.communityId, userId: `token:${token.name}`, grant: { kind: 'token', tokenId: token.tokenId, createdBy: token.createdBy } },
    };
  }
}
