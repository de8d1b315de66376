import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { KeyError } from '../errors.js';
import { normalizeKeyId } from '../keys/key-service.js';
import type { Logger } from '../log.js';
import type { Actor, MemberService } from '../members/member-service.js';
import type { KeyRepository } from '../store/key-repository.js';
import { dependentKinds, type DependentRecord, type DependentRepository } from './dependent-repository.js';
import { checkWebhookUrl, type UrlGuardOptions } from './url-guard.js';

export type { DependentKind, DependentRecord } from './dependent-repository.js';

export const DEPENDENT_NAME_RULE = 'Dependent name must be 1–64 characters.';

/** What an admin submits to link a dependent to a key. */
export const linkDependentInput = z.object({
  keyId: z.string().trim().min(1, { message: 'Which key? Give its keyId.' }),
  kind: z.enum(dependentKinds, { message: 'Kind must be playbook or cti_connector.' }),
  name: z.string({ message: DEPENDENT_NAME_RULE }).trim().min(1, { message: DEPENDENT_NAME_RULE }).max(64, { message: DEPENDENT_NAME_RULE }),
  url: z.string({ message: 'A webhook URL is required.' }).trim().min(1, { message: 'A webhook URL is required.' }).max(2048, { message: 'The webhook URL is too long (2048 characters at most).' }),
});
export type LinkDependentInput = z.infer<typeof linkDependentInput>;

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export const generateSigningSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const generateDependentId = () => `dep_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').toLowerCase()}`;

/**
 * Playbooks and CTI connectors that use a key and are told by webhook when it is revoked.
 * Knows nothing of Slack, HTTP or queues.
 */
export class DependentService {
  constructor(
    private readonly repo: DependentRepository,
    private readonly keys: KeyRepository,
    private readonly members: MemberService,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly guard: UrlGuardOptions,
  ) {}

  /**
   * Links a dependent to an active key. The signing secret is returned here once; it is
   * stored to sign webhooks but never shown again.
   */
  async link(actor: Actor, input: { keyId: string; kind: 'playbook' | 'cti_connector'; name: string; url: string }): Promise<{ dependent: DependentRecord; secret: string }> {
    await this.members.requireAdmin(actor, 'link dependents');
    const parsed = linkDependentInput.safeParse(input);
    if (!parsed.success) {
      const fields: Record<string, string> = {};
      for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'input')] ??= issue.message;
      throw new KeyError('invalid_input', Object.values(fields).join(' '), fields);
    }
    const keyId = normalizeKeyId(parsed.data.keyId);
    const key = await this.keys.find(actor.communityId, keyId);
    if (!key) throw new KeyError('not_found', `No API key \`${keyId}\` in this workspace.`);
    if (key.status !== 'active') throw new KeyError('already_revoked', `API key \`${keyId}\` is revoked; dependents can only be linked to active keys.`);
    const url = await checkWebhookUrl(parsed.data.url, this.guard);
    const secret = generateSigningSecret();
    const dependent = await this.repo.insert({
      communityId: actor.communityId,
      dependentId: generateDependentId(),
      keyId,
      kind: parsed.data.kind,
      name: parsed.data.name,
      webhookUrl: url.toString(),
      status: 'active',
      signingSecret: secret,
      createdBy: actor.userId,
      createdAt: new Date(),
    });
    await this.audit.record({
      communityId: actor.communityId, actor: actor.userId, action: 'dependent.linked', target: keyId,
      details: { dependentId: dependent.dependentId, kind: dependent.kind, name: dependent.name, url: dependent.webhookUrl },
    });
    this.log.info({ communityId: actor.communityId, keyId, dependentId: dependent.dependentId, by: actor.userId }, 'dependent linked');
    return { dependent, secret };
  }

  /** Unlinks a dependent: it is told nothing more. Unlinking twice is a no-op. */
  async unlink(actor: Actor, dependentId: string): Promise<DependentRecord> {
    await this.members.requireAdmin(actor, 'unlink dependents');
    const changed = await this.repo.setStatus(dependentId, 'active', 'unlinked', actor.communityId);
    if (!changed) {
      const current = await this.repo.find(actor.communityId, dependentId);
      if (!current) throw new KeyError('not_found', `No dependent \`${dependentId}\` in this workspace.`);
      return current;
    }
    await this.audit.record({
      communityId: actor.communityId, actor: actor.userId, action: 'dependent.unlinked', target: changed.keyId,
      details: { dependentId, name: changed.name },
    });
    this.log.info({ communityId: actor.communityId, keyId: changed.keyId, dependentId, by: actor.userId }, 'dependent unlinked');
    return changed;
  }

  /** Every dependent of a key (active, gone and unlinked), oldest first. */
  async listForKey(actor: Actor, keyId: string): Promise<DependentRecord[]> {
    await this.members.requireMember(actor, 'see dependents');
    return this.repo.forKey(actor.communityId, normalizeKeyId(keyId));
  }

  /** The worker's fan-out list: active dependents, no authorization (job data is trusted). */
  activeForKey(keyId: string): Promise<DependentRecord[]> {
    return this.repo.activeForKey(keyId);
  }
}
