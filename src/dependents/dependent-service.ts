import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { invalidInput, KeyError } from '../errors.js';
import { normalizeKeyId } from '../keys/key-service.js';
import type { Logger } from '../log.js';
import { auditActor, type Actor, type MemberService } from '../members/member-service.js';
import type { KeyRepository } from '../store/key-repository.js';
import type { DeliveryRepository } from '../store/delivery-repository.js';
import { deliveryIdFor, type DeliveryRecord } from './delivery-record.js';
import { dependentKinds, type DependentKind } from './dependent-kind.js';
import type { DependentRepository } from '../store/dependent-repository.js';
import type { DependentRecord } from './dependent-record.js';
import { checkWebhookUrl, type UrlGuardOptions } from './url-guard.js';

export type { DependentKind } from './dependent-kind.js';
export type { DependentRecord } from './dependent-record.js';

export const DEPENDENT_NAME_RULE = 'Dependent name must be 1–64 characters.';

/** What an admin submits to link a dependent to a key. */
export const linkDependentInput = z.object({
  keyId: z.string().trim().min(1, { message: 'Which key? Give its keyId.' }),
  kind: z.enum(dependentKinds, { message: 'Kind must be playbook or cti_connector.' }),
  name: z.string({ message: DEPENDENT_NAME_RULE }).trim().min(1, { message: DEPENDENT_NAME_RULE }).max(64, { message: DEPENDENT_NAME_RULE }),
  url: z
    .string({ message: 'A webhook URL is required.' })
    .trim()
    .min(1, { message: 'A webhook URL is required.' })
    .max(2048, { message: 'The webhook URL is too long (2048 characters at most).' }),
});
export type LinkDependentInput = z.infer<typeof linkDependentInput>;

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export const generateSigningSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const generateDependentId = () => `dep_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').toLowerCase()}`;

/** A delivery to a dependent linked while its key was being revoked. */
export type LateDelivery = Pick<DeliveryRecord, 'communityId' | 'deliveryId' | 'keyId' | 'dependentId'>;
/** Sends a late delivery at once (enqueues its webhook); failures are logged (the sweeper covers them). */
export type LateDeliveryListener = (delivery: LateDelivery) => Promise<void> | void;

/** A link that passed every check, not yet stored: what {@link DependentService.completeLink} stores. */
export interface LinkPlan {
  actor: Actor;
  keyId: string;
  kind: DependentKind;
  name: string;
  url: string;
}

export interface LinkResult {
  dependent: DependentRecord;
  /** Shown once; stored to sign webhooks, never shown again. */
  secret: string;
  /** The key was revoked while it was being linked: the dependent is being told now. */
  keyRevoked: boolean;
}

/**
 * Playbooks and CTI connectors that use a key and are told by webhook when it is revoked.
 * Knows nothing of Slack, HTTP or queues.
 */
export class DependentService {
  private readonly lateListeners: LateDeliveryListener[] = [];

  constructor(
    private readonly repo: DependentRepository,
    private readonly keys: KeyRepository,
    private readonly deliveries: DeliveryRepository,
    private readonly members: MemberService,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly guard: UrlGuardOptions,
  ) {}

  /** Registers who sends a late delivery at once (the API process's queue publisher). */
  onLateDelivery(listener: LateDeliveryListener): void {
    this.lateListeners.push(listener);
  }

  /**
   * Links a dependent to an active key. The signing secret is returned here once; it is
   * stored to sign webhooks but never shown again. If the key is revoked while the link is
   * under way, the dependent is still told (see {@link completeLink}).
   */
  async link(actor: Actor, input: { keyId: string; kind: DependentKind; name: string; url: string }): Promise<LinkResult> {
    return this.completeLink(await this.checkLink(actor, input));
  }

  /** The checks of a link: authorization, input, an active key, a webhook URL that may be reached. */
  async checkLink(actor: Actor, input: { keyId: string; kind: DependentKind; name: string; url: string }): Promise<LinkPlan> {
    await this.members.requireAdmin(actor, 'link dependents');
    const parsed = linkDependentInput.safeParse(input);
    if (!parsed.success) throw invalidInput(parsed.error.issues);
    const keyId = normalizeKeyId(parsed.data.keyId);
    const key = await this.keys.find(actor.communityId, keyId);
    if (!key) throw new KeyError('not_found', `No API key \`${keyId}\` in this workspace.`);
    if (key.status !== 'active') throw new KeyError('already_revoked', `API key \`${keyId}\` is revoked; dependents can only be linked to active keys.`);
    const url = await checkWebhookUrl(parsed.data.url, this.guard);
    return { actor, keyId, kind: parsed.data.kind, name: parsed.data.name, url: url.toString() };
  }

  /**
   * Stores a checked link. The key may have been revoked since it was checked (a DNS lookup
   * in the URL check can take seconds), and the revocation's fan-out may already have read
   * the key's dependents without this one. So the key is read again after the insert: the
   * fan-out reads dependents after the revocation is stored, so either it saw this dependent
   * or this read sees the revocation. If revoked, the dependent's delivery is created here
   * and sent at once, and the notification put back in the sweeper's hands.
   */
  async completeLink(plan: LinkPlan): Promise<LinkResult> {
    const { actor, keyId } = plan;
    const secret = generateSigningSecret();
    const dependent = await this.repo.insert({
      communityId: actor.communityId,
      dependentId: generateDependentId(),
      keyId,
      kind: plan.kind,
      name: plan.name,
      webhookUrl: plan.url,
      status: 'active',
      signingSecret: secret,
      createdBy: actor.userId,
      createdAt: new Date(),
    });
    await this.audit.record({
      communityId: actor.communityId,
      ...auditActor(actor),
      action: 'dependent.linked',
      target: keyId,
      details: { dependentId: dependent.dependentId, kind: dependent.kind, name: dependent.name, url: dependent.webhookUrl },
    });
    this.log.info({ communityId: actor.communityId, keyId, dependentId: dependent.dependentId, by: actor.userId }, 'dependent linked');
    const now = await this.keys.find(actor.communityId, keyId);
    const keyRevoked = now?.status === 'revoked';
    if (keyRevoked) await this.tellLate(dependent);
    return { dependent, secret, keyRevoked };
  }

  /** Creates the delivery of a dependent linked to a key revoked meanwhile, and sends it. */
  private async tellLate(dependent: DependentRecord): Promise<void> {
    const delivery: LateDelivery = {
      communityId: dependent.communityId,
      deliveryId: deliveryIdFor(dependent.keyId, dependent.dependentId),
      keyId: dependent.keyId,
      dependentId: dependent.dependentId,
    };
    // The delivery first, then the notification reopened, through which the sweeper finds
    // the delivery if the listener below cannot enqueue it. (A process that dies between the
    // insert above and here leaves a dependent without a delivery: the sweeper's walk over
    // dependents finds it.)
    await this.deliveries.ensure([{ ...delivery, dependentName: dependent.name }]);
    await this.keys.reopenNotification(dependent.keyId);
    this.log.warn({ keyId: dependent.keyId, dependentId: dependent.dependentId }, 'dependent linked while its key was being revoked; telling it now');
    for (const listener of this.lateListeners) {
      try {
        await listener(delivery);
      } catch (e) {
        this.log.warn(
          { keyId: dependent.keyId, dependentId: dependent.dependentId, err: (e as Error).message },
          'late delivery not enqueued; the sweeper will send it',
        );
      }
    }
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
      communityId: actor.communityId,
      ...auditActor(actor),
      action: 'dependent.unlinked',
      target: changed.keyId,
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
