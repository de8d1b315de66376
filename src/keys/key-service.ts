import { z } from 'zod';
import { invalidInput, isKeyError, KeyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../audit/audit-log.js';
import { auditActor, type Actor, type MemberService } from '../members/member-service.js';
import type { RoleCatalog } from '../roles/catalog.js';
import type { KeyRepository } from '../store/key-repository.js';
import { decodeCursor, type KeyRecord, type ListedPage } from './key-record.js';
import { systemClock, type Clock } from '../util/clock.js';
import { expiryInput, lifeStatus, resolveExpiry, ROLL_OVERLAPS, rollOverlaps, shortDate, type RollOverlap } from './key-life.js';
import type { RevocationAnnouncer } from './revocation-announcer.js';
import { leakSchema, normalizeReason, UNCOLLECTED_REASON, type Leak, type RevokeDetails } from './revoke-reason.js';
import { checkToken, generateKeyId, generateToken, hashToken, sameHash, tokenHint } from './token.js';

export const DESCRIPTION_RULE = 'Description must be more than 10 and fewer than 100 characters (11–99).';
export const NAME_RULE = 'Name must be 1–64 characters.';

/** What an admin submits to create a key. */
export const createKeyInput = z
  .object({
    name: z.string({ message: NAME_RULE }).trim().min(1, { message: NAME_RULE }).max(64, { message: NAME_RULE }),
    description: z.string({ message: DESCRIPTION_RULE }).trim().min(11, { message: DESCRIPTION_RULE }).max(99, { message: DESCRIPTION_RULE }),
    roles: z.array(z.string(), { message: 'Pick at least one role.' }).min(1, { message: 'Pick at least one role.' }),
  })
  .extend(expiryInput.shape);
export type CreateKeyInput = z.infer<typeof createKeyInput>;
/** A create input that passed every rule, with its expiry instant resolved (null: never). */
export type ValidKeyInput = Pick<CreateKeyInput, 'name' | 'description' | 'roles'> & { expiresAt: Date | null };

export const listStatuses = ['active', 'expired', 'revoked', 'all'] as const;
export type ListStatus = (typeof listStatuses)[number];

export interface ListOptions {
  status?: ListStatus;
  search?: string;
  /** Only keys created by this user. */
  createdBy?: string;
  /** Page size, at most 10 (one Slack message). */
  limit?: number;
  after?: string;
  before?: string;
}

export type VerifyResult =
  /** `validUntil`: the presented secret is a rolled key's previous one, working until then. */
  { valid: true; key: KeyRecord; validUntil?: Date } | { valid: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'rolled'; keyId?: string };

/** What a roll returns: the key, its new secret (here once), and how stale other servers may be. */
export interface RollResult {
  key: KeyRecord;
  token: string;
  /** 0 when every verifier was told at once; else how long one may still accept an ended old secret. */
  staleUpToMs: number;
}

/** Called after a revocation is recorded; failures are logged (the sweeper covers them). */
export type RevokedListener = (key: KeyRecord) => Promise<void> | void;
/** The same for the keys of one {@link KeyService.revokeMany}, at once (e.g. one enqueue for all). */
export type RevokedManyListener = (keys: KeyRecord[]) => Promise<void> | void;

/** What became of one key of a {@link KeyService.revokeMany}: what `revoke` would have returned or thrown. */
export type RevokeManyResult = { keyId: string } & ({ ok: true; result: RevokeResult } | { ok: false; error: unknown });

export interface RevokeResult {
  key: KeyRecord;
  /** False when it was already revoked (nothing recorded or sent twice). */
  changed: boolean;
  /**
   * How long other servers may still accept the key from their verification caches: 0 once
   * every verifier was told; else VERIFY_CACHE_TTL_MS (the announcement could not be made in
   * time; it stays pending and is retried until it is).
   */
  staleUpToMs: number;
}

/** What became of a token reported as leaked. */
export type LeakOutcome =
  /** Not a token of ours (shape or checksum): nothing was looked up. */
  | { kind: 'noise' }
  /** A well-formed token no key has: nothing changed. */
  | { kind: 'unknown' }
  /** A real key's secret that no longer works (revoked, expired, ended by a roll): nothing changed. */
  | { kind: 'inactive'; key: KeyRecord; status: 'revoked' | 'expired' | 'rolled' }
  /** A live secret: its key is revoked now (`changed`), or was by a concurrent report. */
  | ({ kind: 'revoked' } & RevokeResult);

/** The reason and leak recorded in a `key.revoked` audit event (written by {@link KeyService.revoke}). */
function detailsOf(raw: unknown): RevokeDetails {
  const d = (raw ?? {}) as { reason?: unknown; leak?: unknown };
  const leak = leakSchema.safeParse(d.leak);
  return { ...(typeof d.reason === 'string' ? { reason: d.reason } : {}), ...(leak.success ? { leak: leak.data } : {}) };
}

export interface KeyServiceOptions {
  prefix: string;
  pepper?: string;
  /** The domain's clock (expiry, statuses, event times); the system clock by default. */
  clock?: Clock;
}

/** The rules of API keys. Knows nothing of Slack, HTTP or queues. */
export class KeyService {
  private readonly listeners: Array<{ one: RevokedListener; many?: RevokedManyListener }> = [];
  /** Keys whose announcement this process keeps retrying in the background. */
  private readonly retrying = new Set<string>();

  constructor(
    private readonly repo: KeyRepository,
    private readonly members: MemberService,
    private readonly roles: RoleCatalog,
    private readonly audit: AuditLog,
    private readonly announcer: RevocationAnnouncer,
    private readonly log: Logger,
    private readonly opts: KeyServiceOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  /** The clock every rule about time uses (jobs read it from here too). */
  readonly clock: Clock;

  /**
   * Registers work to do after each revocation (enqueue notifications); `many`, when given,
   * does it for the keys of one {@link revokeMany} at once, instead of `listener` per key.
   */
  onRevoked(listener: RevokedListener, many?: RevokedManyListener): void {
    this.listeners.push({ one: listener, ...(many ? { many } : {}) });
  }

  /**
   * Makes sure verifiers were told that `key` is revoked before a revoke call returns, the
   * winner's and the losers' alike: a caller told "already revoked" must be able to rely on
   * it as much as the one that revoked. Returns how long other servers may still accept it
   * (0 when told). On failure the announcement stays pending in MongoDB (the sweeper retries
   * it) and this process retries it in the background too.
   */
  async announce(key: KeyRecord): Promise<number> {
    return this.announceMany([key]);
  }

  /**
   * Retries a failed announcement every second or so for as long as an unannounced cache
   * entry could live (after that it has expired anyway); the sweeper covers a dead process.
   */
  private retryAnnouncement(keyId: string): void {
    if (this.retrying.has(keyId) || this.announcer.unannouncedStaleMs === 0) return;
    this.retrying.add(keyId);
    const until = Date.now() + this.announcer.unannouncedStaleMs;
    const attempt = () => {
      this.announcer.announce(keyId).then(
        async () => {
          this.retrying.delete(keyId);
          await this.repo.markAnnounced([keyId]).catch(() => undefined);
          this.log.info({ keyId }, 'revocation announced after a retry');
        },
        () => {
          if (Date.now() + 1_000 > until) return void this.retrying.delete(keyId);
          setTimeout(attempt, 1_000).unref();
        },
      );
    };
    setTimeout(attempt, 1_000).unref();
  }

  /** Validates without creating: the modal uses it to show errors inline. */
  validate(input: unknown): ValidKeyInput {
    const parsed = createKeyInput.safeParse(input);
    if (!parsed.success) throw invalidInput(parsed.error.issues);
    const fields: Record<string, string> = {};
    const unknown = parsed.data.roles.filter((r) => !this.roles.has(r));
    if (unknown.length) fields.roles = `Unknown role${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`;
    const expiry = resolveExpiry(parsed.data, this.clock.now());
    if ('errors' in expiry) Object.assign(fields, expiry.errors);
    if (Object.keys(fields).length) throw invalidInput([], fields);
    const expiresAt = 'errors' in expiry ? null : expiry.expiresAt;
    const { name, description, roles } = parsed.data;
    return { name, description, roles: [...new Set(roles)], expiresAt };
  }

  /** Creates a key. The token is returned here once and exists nowhere else. */
  /**
   * `requestedBy`: an approved request (the actor is the approving admin): the key is the
   * requester's (createdBy, the audit actor) and the audit names the approver.
   */
  async create(actor: Actor, input: unknown, opts: { keyId?: string; requestedBy?: string } = {}): Promise<{ key: KeyRecord; token: string }> {
    await this.members.requireAdmin(actor, 'create API keys');
    const data = this.validate(input);
    const token = generateToken(this.opts.prefix);
    const key = await this.repo.insert({
      communityId: actor.communityId,
      // A caller that must know the keyId before the key exists (an idempotent create) chooses it.
      keyId: opts.keyId ?? generateKeyId(),
      name: data.name,
      description: data.description,
      roles: data.roles,
      tokenHash: hashToken(token, this.opts.pepper),
      hint: tokenHint(token),
      createdBy: opts.requestedBy ?? actor.userId,
      createdAt: new Date(this.clock.now()),
      ...(data.expiresAt ? { expiresAt: data.expiresAt } : {}),
    });
    const who = opts.requestedBy ? { actor: opts.requestedBy } : auditActor(actor);
    const approval = opts.requestedBy ? { approvedBy: actor.userId } : {};
    await this.audit.record({
      communityId: actor.communityId,
      ...who,
      action: 'key.created',
      target: key.keyId,
      details: { name: key.name, roles: key.roles, expiresAt: key.expiresAt?.toISOString() ?? null, ...approval },
    });
    this.log.info({ communityId: key.communityId, keyId: key.keyId, by: actor.userId }, 'api key created');
    return { key, token };
  }

  async list(actor: Actor, opts: ListOptions = {}): Promise<ListedPage> {
    const viewerRole = await this.members.requireMember(actor, 'list API keys');
    const words = (opts.search ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 8)
      .map((w) => w.slice(0, 64));
    const after = opts.after === undefined ? undefined : decodeCursor(opts.after);
    const before = opts.before === undefined ? undefined : decodeCursor(opts.before);
    // A cursor that is not a position (edited, truncated, from an older format): page one, said so.
    const gone = (opts.after !== undefined && !after) || (opts.before !== undefined && !before);
    const page = await this.repo.list({
      communityId: actor.communityId,
      status: opts.status ?? 'active',
      now: new Date(this.clock.now()),
      words,
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
      limit: Math.min(Math.max(opts.limit ?? 10, 1), 10),
      ...(gone ? {} : { after, before }),
    });
    return gone ? { ...page, cursorGone: true, viewerRole } : { ...page, viewerRole };
  }

  async show(actor: Actor, keyId: string): Promise<KeyRecord> {
    await this.members.requireMember(actor, 'see API keys');
    const key = await this.repo.find(actor.communityId, normalizeKeyId(keyId));
    if (!key) throw new KeyError('not_found', `No API key \`${keyId}\` in this workspace.`);
    return key;
  }

  /** The keys of the caller's community among these keyIds, in the order asked; unknown ones are left out. */
  async showMany(actor: Actor, keyIds: readonly string[]): Promise<KeyRecord[]> {
    await this.members.requireMember(actor, 'see API keys');
    const ids = [...new Set(keyIds.map(normalizeKeyId))];
    const found = new Map((await this.repo.findMany(actor.communityId, ids)).map((k) => [k.keyId, k]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  /**
   * Revokes a key: one conditional update, idempotent and irreversible, then tells the
   * verifiers (waiting a bounded time) and hands the notifications to the listeners. See
   * {@link RevokeResult} for what the caller may promise. `reason`: optional, a preset or
   * free text (see revoke-reason.ts), kept with the key and its audit event.
   */
  async revoke(actor: Actor, keyId: string, opts: { reason?: string } = {}): Promise<RevokeResult> {
    await this.members.requireAdmin(actor, 'revoke API keys');
    const id = normalizeKeyId(keyId);
    const current = await this.repo.find(actor.communityId, id);
    if (!current) throw new KeyError('not_found', `No API key \`${keyId}\` in this workspace.`);
    const reason = normalizeReason(opts.reason);
    return this.revokeAs(current, auditActor(actor), reason ? { reason } : {});
  }

  /**
   * Revokes the key a leaked token belongs to, on behalf of a scanner (`github-secret-scanning`,
   * `slack-leak-guard`) rather than a person: no member check (the caller proved who it is:
   * GitHub's signature, Slack's), reason `leaked` and where it was found. The checksum is
   * checked first, so noise costs no I/O. Through the same path as a person's revoke: the
   * verifiers are told, dependents and Slack notified; a second report changes nothing.
   */
  async revokeLeaked(token: string, actorName: string, leak: Leak): Promise<LeakOutcome> {
    const found = await this.leaked(token);
    if (found.kind !== 'live') return found;
    const { key } = found;
    try {
      return { kind: 'revoked', ...(await this.revokeAs(key, { actor: actorName }, { reason: 'leaked', leak })) };
    } catch (e) {
      // It reached its expiry instant between the two reads: it no longer works, nothing to revoke.
      if (isKeyError(e) && e.code === 'invalid_input') return { kind: 'inactive', key, status: 'expired' };
      throw e;
    }
  }

  /**
   * {@link revokeLeaked} for the tokens of one report (a GitHub alert of several): each
   * decided as if alone, the live keys revoked together as {@link revokeMany} does (one
   * audit insertMany, one bulkWrite, one announcement, one enqueue). A key reported by
   * several of its secrets is revoked once, with the first report's place; every report
   * of it gets the same outcome. Outcomes in the order of `reports`.
   */
  async revokeLeakedMany(reports: ReadonlyArray<{ token: string; leak: Leak }>, actorName: string): Promise<LeakOutcome[]> {
    const found = await Promise.all(reports.map((r) => this.leaked(r.token)));
    const live = new Map<string, { key: KeyRecord; leak: Leak }>();
    found.forEach((f, i) => {
      if (f.kind === 'live' && !live.has(f.key.keyId)) live.set(f.key.keyId, { key: f.key, leak: reports[i]!.leak });
    });
    // It may have reached its expiry instant since it was read: it no longer works, nothing to revoke.
    const now = this.clock.now();
    const active = [...live.values()].filter(({ key }) => lifeStatus(key, now) === 'active').map(({ key }) => key);
    const results = active.length
      ? await this.revokeActive(active, { actor: actorName }, (k) => ({ reason: 'leaked', leak: live.get(k.keyId)!.leak }))
      : new Map<string, RevokeResult>();
    return found.map((f): LeakOutcome => {
      if (f.kind !== 'live') return f;
      const r = results.get(f.key.keyId);
      return r ? { kind: 'revoked', ...r } : { kind: 'inactive', key: f.key, status: 'expired' };
    });
  }

  /** What a reported token is: noise, unknown, a secret that no longer works, or a live key's. */
  private async leaked(token: string): Promise<Exclude<LeakOutcome, { kind: 'revoked' }> | { kind: 'live'; key: KeyRecord }> {
    if (!checkToken(token, this.opts.prefix).ok) return { kind: 'noise' };
    const hash = hashToken(token, this.opts.pepper);
    const found = await this.repo.findBySecret(hash);
    if (!found || !sameHash(found.matched, hash)) return { kind: 'unknown' };
    const { key, which } = found;
    const now = this.clock.now();
    const status = lifeStatus(key, now);
    // A secret that no longer works (ended by a roll, or its key expired or revoked) leaks nothing.
    const live = status === 'active' && (which === 'current' || (which === 'previous' && (key.previousValidUntil?.getTime() ?? 0) > now));
    if (!live) return { kind: 'inactive', key, status: status === 'active' ? 'rolled' : status };
    return { kind: 'live', key };
  }

  /**
   * Revokes, on behalf of Keywarden itself (`keywarden`), the key of an approved request whose
   * requester never collected it: it was created by a hand-out that died before showing its
   * secret, so nobody holds a working secret, and it must not stay active once the approval
   * lapsed. No member check (no person acts); idempotent; an expired or unknown key is left.
   */
  async revokeUncollected(communityId: string, keyId: string): Promise<RevokeResult | undefined> {
    const current = await this.repo.find(communityId, normalizeKeyId(keyId));
    if (!current || lifeStatus(current, this.clock.now()) === 'expired') return undefined;
    return this.revokeAs(current, { actor: 'keywarden' }, { reason: UNCOLLECTED_REASON });
  }

  /** The revocation itself, for a person or a scanner; `current` was read just before. */
  private async revokeAs(current: KeyRecord, who: { actor: string; onBehalfOf?: string }, details: RevokeDetails): Promise<RevokeResult> {
    const { communityId, keyId: id } = current;
    const by = who.actor;
    if (current.status === 'revoked') {
      return { key: current, changed: false, staleUpToMs: await this.announce(current) };
    }
    // An expired key no longer works and its dependents were told; a revoke would announce it twice.
    if (lifeStatus(current, this.clock.now()) === 'expired') throw expiredError(current);

    // The audit event with a deterministic id decides which caller revokes: MongoDB would
    // serialise the conditional update below on its own, but compatible servers such as
    // FerretDB v1 let concurrent conditional updates all succeed.
    const eventId = revokedEventId(current);
    const at = new Date(this.clock.now());
    const won = await this.audit.recordOnce(eventId, {
      communityId,
      ...who,
      action: 'key.revoked',
      target: id,
      details: { name: current.name, ...details },
      at,
    });
    if (!won) return this.afterLost(current, eventId, by, at, details);
    const revoked = (await this.repo.revoke(communityId, id, by, at, details)) ?? (await this.repo.find(communityId, id))!;
    this.log.info({ communityId: revoked.communityId, keyId: id, by, reason: details.reason }, 'api key revoked');
    // The announcement before the notifications: recording it rewrites the key's document
    // (FerretDB), which would undo the `done` of a fan-out that finished first.
    const staleUpToMs = await this.announce(revoked);
    await this.notify(revoked);
    return { key: revoked, changed: true, staleUpToMs };
  }

  /**
   * Someone else's revocation of `current` was recorded first (its audit event). Applies it
   * too, in case they died between the two writes: the key must never stay active once a
   * revocation is recorded.
   */
  private async afterLost(current: KeyRecord, eventId: string, by: string, at: Date, details: RevokeDetails): Promise<RevokeResult> {
    const { communityId, keyId: id } = current;
    const winner = await this.audit.find(eventId);
    const completed = await this.repo.revoke(communityId, id, winner?.actor ?? by, winner?.at ?? at, winner ? detailsOf(winner.details) : details);
    const key = completed ?? (await this.repo.find(communityId, id)) ?? current;
    if (completed) this.log.warn({ communityId: key.communityId, keyId: id }, 'completed a revocation its revoker left half done');
    const staleUpToMs = await this.announce(key);
    if (completed) await this.notify(key);
    return { key, changed: false, staleUpToMs };
  }

  /**
   * Revokes several keys of the caller's community (`/apikey revoke <keyId> <keyId>…`), each
   * decided as if alone — the same checks, the same audit event with the same deterministic
   * id, the same result or error per key as {@link revoke} — with the work batched: the
   * keys read by `_id` together, the audit events inserted with one insertMany (each still
   * decides its own key), one announcement to the verifiers for all (one epoch bump and one
   * wait for the lease), then the notifications handed over at once (one enqueue for all
   * with a batch listener). Results come in the order asked, one per distinct keyId.
   */
  async revokeMany(actor: Actor, keyIds: readonly string[], opts: { reason?: string } = {}): Promise<RevokeManyResult[]> {
    await this.members.requireAdmin(actor, 'revoke API keys');
    const reason = normalizeReason(opts.reason);
    const details: RevokeDetails = reason ? { reason } : {};
    const who = auditActor(actor);
    const asked = new Map<string, string>();
    for (const k of keyIds) if (!asked.has(normalizeKeyId(k))) asked.set(normalizeKeyId(k), k);
    const found = new Map((await this.repo.findMany(actor.communityId, [...asked.keys()])).map((k) => [k.keyId, k]));
    const out = new Map<string, Promise<RevokeResult>>();
    const active: KeyRecord[] = [];
    const now = this.clock.now();
    for (const [id, typed] of asked) {
      const current = found.get(id);
      if (!current) out.set(id, Promise.reject(new KeyError('not_found', `No API key \`${typed}\` in this workspace.`)));
      else if (current.status === 'revoked')
        out.set(
          id,
          this.announce(current).then((staleUpToMs) => ({ key: current, changed: false, staleUpToMs })),
        );
      else if (lifeStatus(current, now) === 'expired') out.set(id, Promise.reject(expiredError(current)));
      else active.push(current);
    }
    for (const p of out.values()) p.catch(() => undefined); // settled below, all together
    if (active.length > 0) {
      const decided = this.revokeActive(active, who, () => details);
      decided.catch(() => undefined);
      for (const k of active)
        out.set(
          k.keyId,
          decided.then((m) => m.get(k.keyId)!),
        );
    }
    const settled = await Promise.allSettled([...asked.keys()].map((id) => out.get(id)!));
    return [...asked.keys()].map((keyId, i) => {
      const r = settled[i]!;
      return r.status === 'fulfilled' ? { keyId, ok: true, result: r.value } : { keyId, ok: false, error: r.reason as unknown };
    });
  }

  /** The batched part of {@link revokeMany}: keys that were active when read. */
  private async revokeActive(
    keys: KeyRecord[],
    who: { actor: string; onBehalfOf?: string },
    detailsFor: (k: KeyRecord) => RevokeDetails,
  ): Promise<Map<string, RevokeResult>> {
    const at = new Date(this.clock.now());
    const won = await this.audit.recordOnceMany(
      keys.map((k) => ({
        id: revokedEventId(k),
        e: { communityId: k.communityId, ...who, action: 'key.revoked', target: k.keyId, details: { name: k.name, ...detailsFor(k) }, at },
      })),
    );
    const results = new Map<string, RevokeResult>();
    const lost = keys.filter((_, i) => !won[i]);
    const winners = keys.filter((_, i) => won[i]);
    const [revoked] = await Promise.all([
      this.revokeWon(winners, who.actor, at, detailsFor),
      // Rare (a concurrent revoke of the same key): each as `revoke` does it.
      Promise.all(lost.map(async (k) => results.set(k.keyId, await this.afterLost(k, revokedEventId(k), who.actor, at, detailsFor(k))))),
    ]);
    for (const k of revoked) this.log.info({ communityId: k.communityId, keyId: k.keyId, by: who.actor, reason: k.reason }, 'api key revoked');
    // The announcement before the notifications, as for a single revoke.
    const staleUpToMs = await this.announceMany(revoked);
    await this.notifyMany(revoked);
    for (const k of revoked) results.set(k.keyId, { key: k, changed: true, staleUpToMs });
    return results;
  }

  /**
   * Writes the revocations this call won (one write for all), as `revoke` does: a key no
   * longer active by then (the sweeper completed this very revocation) is taken as it is now.
   */
  private async revokeWon(won: KeyRecord[], by: string, at: Date, detailsFor: (k: KeyRecord) => RevokeDetails): Promise<KeyRecord[]> {
    if (won.length === 0) return [];
    const written = await this.repo.revokeMany(
      won.map((k) => ({ communityId: k.communityId, keyId: k.keyId, details: detailsFor(k) })),
      by,
      at,
    );
    const done = new Set(written.map((k) => k.keyId));
    const rest = await Promise.all(won.filter((k) => !done.has(k.keyId)).map(async (k) => (await this.repo.find(k.communityId, k.keyId)) ?? k));
    return [...written, ...rest];
  }

  /** {@link announce} for several keys: one announcement for all; 0 once every verifier was told. */
  private async announceMany(keys: KeyRecord[]): Promise<number> {
    const pending = keys.filter((k) => k.announce?.state === 'pending').map((k) => k.keyId);
    if (pending.length === 0) return 0;
    try {
      if (pending.length > 1 && this.announcer.announceMany) await this.announcer.announceMany(pending);
      else await Promise.all(pending.map((id) => this.announcer.announce(id)));
    } catch (e) {
      this.log.warn(
        { keyIds: pending, err: (e as Error).message, staleUpToMs: this.announcer.unannouncedStaleMs },
        'could not tell the verifiers of a revocation; other servers may accept the key until their caches expire; retrying',
      );
      for (const id of pending) this.retryAnnouncement(id);
      return this.announcer.unannouncedStaleMs;
    }
    await this.repo
      .markAnnounced(pending)
      .catch((e: unknown) => this.log.warn({ keyIds: pending, err: (e as Error).message }, 'announced, but could not record it; it will be announced again'));
    return 0;
  }

  private async notify(key: KeyRecord): Promise<void> {
    for (const { one } of this.listeners) await this.notifyOne(one, key);
  }

  /** {@link notify} for several keys: each listener's batch form when it has one. */
  private async notifyMany(keys: KeyRecord[]): Promise<void> {
    if (keys.length === 0) return;
    for (const { one, many } of this.listeners) {
      if (!many) {
        await Promise.all(keys.map((k) => this.notifyOne(one, k)));
        continue;
      }
      try {
        await many(keys);
      } catch (e) {
        this.log.warn({ keyIds: keys.map((k) => k.keyId), err: (e as Error).message }, 'after-revoke step failed; the sweeper will retry it');
      }
    }
  }

  private async notifyOne(listener: RevokedListener, key: KeyRecord): Promise<void> {
    try {
      await listener(key);
    } catch (e) {
      this.log.warn({ keyId: key.keyId, err: (e as Error).message }, 'after-revoke step failed; the sweeper will retry it');
    }
  }

  /**
   * Rolls a key: a new secret, same keyId and everything else. The old secret keeps working
   * for `overlap` (none, 1h, 24h, 7d); a previous secret still in its overlap ends at once,
   * so at most two secrets are ever live. The audit event's id (the key and the secret being
   * replaced) decides between concurrent rolls. Verifiers are told before this returns, so
   * no cached `valid` outlives what the roll says (an ended secret stops in every process).
   */
  async roll(actor: Actor, keyId: string, overlap: unknown): Promise<RollResult> {
    await this.members.requireAdmin(actor, 'roll API keys');
    if (!rollOverlaps.includes(overlap as RollOverlap))
      throw new KeyError('invalid_input', 'Keep the old secret working for: none, 1h, 24h or 7d.', { overlap: 'Pick how long the old secret keeps working.' });
    const id = normalizeKeyId(keyId);
    const current = await this.repo.find(actor.communityId, id);
    const secrets = await this.repo.secretsOf(actor.communityId, id);
    if (!current || !secrets) throw new KeyError('not_found', `No API key \`${keyId}\` in this workspace.`);
    const now = this.clock.now();
    const status = lifeStatus(current, now);
    if (status !== 'active') throw new KeyError('invalid_input', `\`${current.keyId}\` is ${status}: only an active key can be rolled.`);
    const at = new Date(now);
    const previousValidUntil = new Date(now + ROLL_OVERLAPS[overlap as RollOverlap]);
    const won = await this.audit.recordOnce(`key.rolled:${actor.communityId}:${id}:${secrets.tokenHash.slice(0, 24)}`, {
      communityId: actor.communityId,
      ...auditActor(actor),
      action: 'key.rolled',
      target: id,
      details: { name: current.name, overlap, previousValidUntil: previousValidUntil.toISOString() },
      at,
    });
    if (!won) throw new KeyError('conflict', `\`${current.keyId}\` was just rolled by someone else. Look at it again before rolling it once more.`);
    const token = generateToken(this.opts.prefix);
    const rolled = await this.repo.roll(actor.communityId, id, {
      fromHash: secrets.tokenHash,
      tokenHash: hashToken(token, this.opts.pepper),
      hint: tokenHint(token),
      previousHint: current.hint,
      previousValidUntil,
      retire: secrets.previousTokenHash,
      at,
      by: actor.userId,
    });
    if (!rolled) throw new KeyError('conflict', `\`${current.keyId}\` changed while it was being rolled (revoked or rolled elsewhere). Nothing was rolled.`);
    this.log.info({ communityId: actor.communityId, keyId: id, by: actor.userId, overlap }, 'api key rolled');
    let staleUpToMs = 0;
    try {
      // Every roll: an ended previous secret (and with overlap none, the old one) must stop
      // in every process now, and cached answers must learn the old secret's new end.
      await this.announcer.announce(id);
    } catch (e) {
      staleUpToMs = this.announcer.unannouncedStaleMs;
      this.log.warn(
        { keyId: id, err: (e as Error).message, staleUpToMs },
        'could not tell the verifiers of a roll; other servers may accept an ended secret until their caches expire',
      );
    }
    for (const listener of this.rolledListeners) {
      try {
        await listener(rolled);
      } catch (e) {
        this.log.warn({ keyId: id, err: (e as Error).message }, 'after-roll step failed');
      }
    }
    return { key: rolled, token, staleUpToMs };
  }

  private readonly rolledListeners: RevokedListener[] = [];

  /** Registers work to do after each roll (tell dependents). */
  onRolled(listener: RevokedListener): void {
    this.rolledListeners.push(listener);
  }

  /** Checks a presented token. Shape and checksum are checked before any I/O. */
  async verify(token: string): Promise<VerifyResult> {
    if (!checkToken(token, this.opts.prefix).ok) return { valid: false, reason: 'malformed' };
    const hash = hashToken(token, this.opts.pepper);
    // One lookup by `_id` for any secret of a key (current, previous or retired).
    const found = await this.repo.findBySecret(hash);
    if (!found || !sameHash(found.matched, hash)) return { valid: false, reason: 'unknown' };
    const { key: record, which } = found;
    const now = this.clock.now();
    // Revoking or expiring ends every secret of the key.
    const status = lifeStatus(record, now);
    if (status !== 'active') return { valid: false, reason: status, keyId: record.keyId };
    if (which === 'retired') return { valid: false, reason: 'rolled', keyId: record.keyId };
    if (which === 'previous') {
      const until = record.previousValidUntil;
      if (!until || until.getTime() <= now) return { valid: false, reason: 'rolled', keyId: record.keyId };
      return { valid: true, key: record, validUntil: until };
    }
    return { valid: true, key: record };
  }
}

/** The id of a key's `key.revoked` audit event: its insert decides which caller revokes. */
const revokedEventId = (k: Pick<KeyRecord, 'communityId' | 'keyId'>) => `key.revoked:${k.communityId}:${k.keyId}`;

/** Why an expired key is not revoked. */
const expiredError = (key: KeyRecord) =>
  new KeyError(
    'invalid_input',
    `\`${key.keyId}\` already expired${key.expiresAt ? ` on ${shortDate(key.expiresAt)}` : ''}: it no longer works and its dependents were told. Nothing to revoke.`,
  );

/** keyIds are typed by people: forgive case and stray backticks. */
export const normalizeKeyId = (s: string) => s.trim().replace(/^`|`$/g, '').toLowerCase();
