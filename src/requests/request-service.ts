import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { KeyError } from '../errors.js';
import type { KeyService } from '../keys/key-service.js';
import type { KeyRecord } from '../keys/key-record.js';
import { generateKeyId } from '../keys/token.js';
import type { Actor, MemberService } from '../members/member-service.js';
import type { RequestRepository } from '../store/request-repository.js';
import type { Decision, KeyRequest, RequestMark, RequestState, RequestStatus } from './request-record.js';
import type { Clock } from '../util/clock.js';

export const WHY_RULE = 'Say why you need it in 10–500 characters.';
const why = z.string({ message: WHY_RULE }).trim().min(10, { message: WHY_RULE }).max(500, { message: WHY_RULE });

export type { Decision, KeyRequest, RequestState, RequestStatus } from './request-record.js';

export interface RequestOptions {
  openToAll: boolean;
  ttlDays: number;
  fourEyes: boolean;
}

/** The outcome of an Approve click. */
export type ApproveResult =
  /** This admin decided and the key was created now: its token, once, for the requester's DM. */
  | { outcome: 'issued'; request: KeyRequest; status: RequestStatus; key: KeyRecord; token: string; handout: number }
  /** This admin decided; the key waits for the requester's `Collect key` (no DM to deliver it to). */
  | { outcome: 'approved'; request: KeyRequest; status: RequestStatus }
  /** Someone decided first, or the request is no longer pending: what stands. */
  | { outcome: 'decided'; request: KeyRequest; status: RequestStatus };

/** A secret handed out by {@link RequestService.collect} (or an approval): show it once, then report. */
export interface Handout {
  request: KeyRequest;
  key: KeyRecord;
  token: string;
  /** The attempt number, for {@link RequestService.delivered} / {@link RequestService.notDelivered}. */
  handout: number;
  /** The key existed (a hand-out died after creating it): this secret replaced the unseen one. */
  reissued?: boolean;
}

const DAY_MS = 86_400_000;
/**
 * An attempt to hand a key out that has shown nothing for this long died (the process
 * stopped between creating the key and showing its secret); the next attempt may start.
 * Showing a secret takes seconds; the margin covers a slow Slack.
 */
export const HANDOUT_STALE_MS = 2 * 60_000;

const isDuplicate = (e: unknown) => (e as { code?: number }).code === 11000;

/**
 * Key requests: a viewer asks, an admin approves or denies, the requester may cancel, and
 * undecided requests lapse. Whoever inserts `<requestId>:decision` first decides; nothing is
 * ever updated in place. An approved key is handed out once — by the approval when the
 * requester's DM can be reached, else when the requester presses `Collect key` — and is
 * created at that moment (its secret is never stored): the key's deterministic keyId makes
 * a second key impossible, and a numbered claim (`<requestId>:claim:<n>`) makes concurrent
 * hand-outs one (see docs/architecture.md).
 */
export class RequestService {
  constructor(
    private readonly repo: RequestRepository,
    private readonly keys: KeyService,
    private readonly members: MemberService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly opts: RequestOptions,
  ) {}

  get ttlDays(): number {
    return this.opts.ttlDays;
  }

  /** Who may request: viewers (and admins); everyone when REQUESTS_OPEN_TO_ALL. */
  async requireRequester(actor: Actor): Promise<void> {
    if (this.opts.openToAll) return;
    await this.members.requireMember(actor, 'request API keys');
  }

  /** Validates a request as the create form would, plus the reason; throws invalid_input with fields. */
  validate(input: unknown, reason: unknown): string {
    const fields: Record<string, string> = {};
    try {
      this.keys.validate(input);
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
      Object.assign(fields, e.fields);
    }
    const w = why.safeParse(reason);
    if (!w.success) fields.why = WHY_RULE;
    if (Object.keys(fields).length) throw new KeyError('invalid_input', Object.values(fields)[0]!, fields);
    return w.data!;
  }

  async submit(actor: Actor, input: KeyRequest['input'], reason: unknown): Promise<KeyRequest> {
    await this.requireRequester(actor);
    const w = this.validate(input, reason);
    const now = this.clock.now();
    const request: KeyRequest = {
      requestId: `rq_${randomBytes(9).toString('base64url')}`,
      communityId: actor.communityId,
      requestedBy: actor.userId,
      input,
      why: w,
      keyId: generateKeyId(),
      createdAt: new Date(now),
      lapsesAt: new Date(now + this.opts.ttlDays * DAY_MS),
    };
    await this.repo.insert(request);
    return request;
  }

  find(communityId: string, requestId: string): Promise<KeyRequest | undefined> {
    return this.repo.find(communityId, requestId);
  }

  /** For the jobs, which carry ids only. */
  findById(requestId: string): Promise<KeyRequest | undefined> {
    return this.repo.findById(requestId);
  }

  decisionOf(requestId: string): Promise<Decision | undefined> {
    return this.repo.decisionOf(requestId);
  }

  /** Where the request stands now (see {@link RequestStatus}). */
  async status(request: KeyRequest): Promise<RequestStatus> {
    const [decision, marks, keyCreated] = await Promise.all([
      this.repo.decisionOf(request.requestId),
      this.repo.marksOf(request.requestId),
      this.repo.keyExists(request.communityId, request.keyId),
    ]);
    return this.statusFrom(request, decision, marks, keyCreated);
  }

  private statusFrom(request: KeyRequest, decision: Decision | undefined, marks: RequestMark[], keyCreated: boolean): RequestStatus {
    const now = this.clock.now();
    // A key with no hand-out claim at all was made by an approval recorded before claims
    // existed, which created and delivered it in one step: delivered, never collectable again.
    const delivered = marks.some((m) => m.kind === 'delivered') || (keyCreated && !marks.some((m) => m.kind === 'claim'));
    const base = { decision, keyCreated, delivered, ttlDays: this.opts.ttlDays, collectable: false, collectUntil: undefined };
    if (!decision) return { ...base, state: now >= request.lapsesAt.getTime() ? 'lapsed' : 'pending' };
    if (decision.decision !== 'approved') return { ...base, state: decision.decision };
    // An approval not yet collected stays collectable for REQUEST_TTL_DAYS from the approval, then lapses.
    const collectUntil = new Date(decision.at.getTime() + this.opts.ttlDays * DAY_MS);
    if (delivered) return { ...base, state: 'approved', collectUntil };
    const open = now < collectUntil.getTime();
    return { ...base, state: open ? 'approved' : 'lapsed', collectable: open, collectUntil };
  }

  private async load(actor: Actor, requestId: string): Promise<KeyRequest> {
    const request = await this.repo.find(actor.communityId, requestId);
    if (!request) throw new KeyError('not_found', `No key request \`${requestId}\` in this workspace.`);
    return request;
  }

  /** Inserts the decision and its audit event; true when this caller decided. */
  private async decide(request: KeyRequest, d: Decision): Promise<boolean> {
    if (!(await this.repo.decide(request, d))) return false;
    await this.audit.record({
      communityId: request.communityId,
      actor: d.by,
      action: `request.${d.decision}`,
      target: request.keyId,
      details: { requestId: request.requestId, name: request.input.name, requestedBy: request.requestedBy, ...(d.reason ? { reason: d.reason } : {}) },
      at: d.at,
    });
    return true;
  }

  /**
   * Admins only (FOUR_EYES: not one's own). The winner of the decision gets the key at once
   * when `deliver` (the adapter can reach the requester's DM), else the approval waits for
   * the requester's `Collect key`.
   */
  async approve(actor: Actor, requestId: string, opts: { deliver: boolean }): Promise<ApproveResult> {
    await this.members.requireAdmin(actor, 'approve key requests');
    const request = await this.load(actor, requestId);
    if (this.opts.fourEyes && request.requestedBy === actor.userId) {
      throw new KeyError('forbidden', 'This is your own request; another admin must approve it (FOUR_EYES).');
    }
    const before = await this.status(request);
    if (before.state !== 'pending') return { outcome: 'decided', request, status: before };
    // Validated again at decision time: the role catalog may have changed since the request.
    this.keys.validate(request.input);
    const decision: Decision = { decision: 'approved', by: actor.userId, at: new Date(this.clock.now()) };
    if (!(await this.decide(request, decision))) return { outcome: 'decided', request, status: await this.status(request) };
    if (!opts.deliver) return { outcome: 'approved', request, status: await this.status(request) };
    const h = await this.handOut(request, decision, actor.userId);
    return { outcome: 'issued', request, status: await this.status(request), key: h.key, token: h.token, handout: h.handout };
  }

  /**
   * `Collect key`: the requester (only them) takes an approved key whose secret they have not
   * seen. The key is created now — or, when an earlier hand-out created it and died before
   * showing the secret, given a new secret (the unseen one ends at once) — never twice.
   */
  async collect(actor: Actor, requestId: string): Promise<Handout> {
    const request = await this.load(actor, requestId);
    if (request.requestedBy !== actor.userId) throw new KeyError('forbidden', 'Only the person who asked can collect this key.');
    await this.requireRequester(actor);
    const status = await this.status(request);
    const { decision } = status;
    if (status.delivered) throw new KeyError('conflict', `You already collected this key: \`${request.keyId}\`. Its secret is shown only once.`);
    if (!status.collectable || !decision) {
      const why: Record<RequestState, string> = {
        pending: 'No admin has approved this request yet.',
        approved: 'This key cannot be collected.',
        denied: 'This request was denied.',
        cancelled: 'You cancelled this request.',
        lapsed:
          decision?.decision === 'approved'
            ? `This approval lapsed: the key was not collected within ${this.opts.ttlDays} days. Ask for a new one.`
            : 'This request lapsed: nobody decided in time. Ask for a new one.',
      };
      throw new KeyError('invalid_input', why[status.state]);
    }
    return this.handOut(request, decision, actor.userId);
  }

  /**
   * Hands the approved key out once: claims attempt n+1 (refused while attempt n may still
   * be showing its secret), then creates the key under the request's keyId with the approver
   * as the one who created it for the requester; if the key already exists (an attempt died
   * after creating it), rolls it with no overlap, since nobody saw that secret.
   */
  private async handOut(request: KeyRequest, decision: Decision, by: string): Promise<Handout> {
    const { requestId } = request;
    const marks = await this.repo.marksOf(requestId);
    const now = this.clock.now();
    const claims = marks.filter((m) => m.kind === 'claim').sort((a, b) => (b.n ?? 0) - (a.n ?? 0));
    const last = claims[0];
    const busy = () => new KeyError('conflict', 'This key is being handed out right now. If no secret appeared, try again in a few minutes.');
    if (last && !marks.some((m) => m.kind === 'failed' && m.n === last.n) && now - last.at.getTime() < HANDOUT_STALE_MS) throw busy();
    const n = (last?.n ?? 0) + 1;
    if (!(await this.repo.mark(requestId, { kind: 'claim', n, at: new Date(now), by }))) throw busy();
    const approver: Actor = { communityId: request.communityId, userId: decision.by };
    try {
      // The approval acts for its admin, like an admin token for its creator: only while they still are one.
      if ((await this.members.roleOf(approver)) !== 'admin')
        throw new KeyError(
          'forbidden',
          'The admin who approved this request is no longer a Keywarden admin, so the approval no longer stands. Ask for a new one.',
        );
      if (!(await this.repo.keyExists(request.communityId, request.keyId))) {
        try {
          const { key, token } = await this.keys.create(approver, request.input, { keyId: request.keyId, requestedBy: request.requestedBy });
          return { request, key, token, handout: n };
        } catch (e) {
          if (!isDuplicate(e)) throw e;
        }
      }
      const { key, token } = await this.keys.roll(approver, request.keyId, 'none');
      return { request, key, token, handout: n, reissued: true };
    } catch (e) {
      await this.repo.mark(requestId, { kind: 'failed', n, at: new Date(this.clock.now()), by }).catch(() => undefined);
      throw e;
    }
  }

  /** The secret of hand-out `n` was shown to the requester (`dm` or `modal`). */
  async delivered(h: Handout, via: 'dm' | 'modal'): Promise<void> {
    const at = new Date(this.clock.now());
    const { request } = h;
    await this.repo.mark(request.requestId, { kind: 'delivered', at, n: h.handout, via });
    // The trail says who received the secret and how; a re-issued secret (an earlier hand-out
    // died after creating the key) otherwise shows only as the approver's roll.
    await this.audit.recordOnce(`request.collected:${request.requestId}:${h.handout}`, {
      communityId: request.communityId,
      actor: request.requestedBy,
      action: 'request.collected',
      target: request.keyId,
      details: { requestId: request.requestId, name: request.input.name, via, ...(h.reissued ? { reissued: true } : {}) },
      at,
    });
  }

  /** The secret of hand-out `n` could not be shown: the requester may collect at once (a new secret). */
  async notDelivered(h: Handout): Promise<void> {
    await this.repo.mark(h.request.requestId, { kind: 'failed', n: h.handout, at: new Date(this.clock.now()) });
  }

  /** Admins deny with a reason; the requester cancels. Returns whether this call decided, and what stands. */
  async deny(actor: Actor, requestId: string, reason: string): Promise<{ won: boolean; request: KeyRequest; status: RequestStatus }> {
    await this.members.requireAdmin(actor, 'deny key requests');
    const text = reason.replace(/\s+/g, ' ').trim();
    if (text.length < 3 || text.length > 500)
      throw new KeyError('invalid_input', 'Give a reason of 3–500 characters.', { reason: 'Give a reason of 3–500 characters.' });
    return this.close(await this.load(actor, requestId), { decision: 'denied', by: actor.userId, at: new Date(this.clock.now()), reason: text });
  }

  async cancel(actor: Actor, requestId: string): Promise<{ won: boolean; request: KeyRequest; status: RequestStatus }> {
    const request = await this.load(actor, requestId);
    if (request.requestedBy !== actor.userId) throw new KeyError('forbidden', 'Only the person who asked can cancel a request.');
    return this.close(request, { decision: 'cancelled', by: actor.userId, at: new Date(this.clock.now()) });
  }

  /**
   * The request scan: records the lapse of a request nobody decided in time (by `keywarden`).
   * True when this call recorded it.
   */
  async recordLapse(request: KeyRequest): Promise<boolean> {
    const r = await this.close(request, { decision: 'lapsed', by: 'keywarden', at: request.lapsesAt }, true);
    return r.won;
  }

  private async close(request: KeyRequest, d: Decision, lapsing = false): Promise<{ won: boolean; request: KeyRequest; status: RequestStatus }> {
    const before = await this.status(request);
    const open = before.state === 'pending' || (lapsing && !before.decision && before.state === 'lapsed');
    if (!open) return { won: false, request, status: before };
    const won = await this.decide(request, d);
    return { won, request, status: await this.status(request) };
  }

  /**
   * An approval that lapsed uncollected, after a hand-out created its key but died before
   * showing the secret: that key is revoked (by `keywarden`), since nobody holds its secret
   * and nobody may collect it any more. True when this call revoked it.
   */
  async retireUncollected(request: KeyRequest): Promise<boolean> {
    const st = await this.status(request);
    if (st.state !== 'lapsed' || st.decision?.decision !== 'approved' || st.delivered || !st.keyCreated) return false;
    const r = await this.keys.revokeUncollected(request.communityId, request.keyId);
    return r?.changed ?? false;
  }

  /** Once-only notices (`told:<what>`): true when this caller should tell it. */
  claimNotice(request: KeyRequest, what: string): Promise<boolean> {
    return this.repo.mark(request.requestId, { kind: 'told', what, at: new Date(this.clock.now()) });
  }

  /** Gives a notice claim back when nothing could be posted, so the next pass tells it. */
  releaseNotice(request: KeyRequest, what: string): Promise<void> {
    return this.repo.unmark(request.requestId, what);
  }

  /** Whether a notice was told (`told:<what>`). */
  async told(request: KeyRequest, what: string): Promise<boolean> {
    return (await this.repo.marksOf(request.requestId)).some((m) => m.kind === 'told' && m.what === what);
  }

  /**
   * An approval whose hand-out is neither delivered nor in progress (no claim, or the last
   * one failed or went stale): the requester must be told to collect it.
   */
  async stalledApproval(request: KeyRequest): Promise<boolean> {
    const marks = await this.repo.marksOf(request.requestId);
    if (marks.some((m) => m.kind === 'delivered')) return false;
    const last = marks.filter((m) => m.kind === 'claim').sort((a, b) => (b.n ?? 0) - (a.n ?? 0))[0];
    if (!last) return true;
    return marks.some((m) => m.kind === 'failed' && m.n === last.n) || this.clock.now() - last.at.getTime() >= HANDOUT_STALE_MS;
  }

  /**
   * The request scan: for each open request, the instant it next needs a look — its lapse;
   * an outcome to show and settle; an approval whose hand-out died (or never started) and
   * whose requester must be told to collect; the end of its collect window. Deterministic
   * instants, so the jobs scheduled for them have stable ids.
   */
  async nextLooks(requests: KeyRequest[]): Promise<Map<string, Date>> {
    const decisions = await this.repo.decisionsOf(requests.map((r) => r.requestId));
    const out = new Map<string, Date>();
    for (const r of requests) {
      const d = decisions.get(r.requestId);
      if (!d) {
        out.set(r.requestId, r.lapsesAt);
        continue;
      }
      if (d.decision !== 'approved') {
        out.set(r.requestId, d.at);
        continue;
      }
      const marks = await this.repo.marksOf(r.requestId);
      const delivered = marks.find((m) => m.kind === 'delivered');
      const collectUntil = new Date(d.at.getTime() + this.opts.ttlDays * DAY_MS);
      if (delivered) out.set(r.requestId, delivered.at);
      else if (marks.some((m) => m.kind === 'told' && m.what === 'collect')) out.set(r.requestId, collectUntil);
      else {
        const last = marks.filter((m) => m.kind === 'claim').sort((a, b) => (b.n ?? 0) - (a.n ?? 0))[0];
        const failed = last && marks.find((m) => m.kind === 'failed' && m.n === last.n);
        out.set(r.requestId, !last ? d.at : failed ? failed.at : new Date(last.at.getTime() + HANDOUT_STALE_MS));
      }
    }
    return out;
  }

  /** Requests the scan has not settled, oldest first. */
  unsettled(limit: number): Promise<KeyRequest[]> {
    return this.repo.unsettled(limit);
  }

  /** The scan found nothing left to do for this request. */
  settle(request: KeyRequest): Promise<void> {
    return this.repo.settle(request.requestId, new Date(this.clock.now()));
  }

  /** Records where a copy of the request was posted. */
  addMessage(requestId: string, channel: string, ts: string): Promise<void> {
    return this.repo.addMessage(requestId, channel, ts);
  }

  messagesOf(requestId: string): Promise<Array<{ channel: string; ts: string }>> {
    return this.repo.messagesOf(requestId);
  }

  /** Undecided, unlapsed requests, newest first (admins' Home). */
  async pending(actor: Actor, limit: number): Promise<KeyRequest[]> {
    if ((await this.members.roleOf(actor)) !== 'admin') return [];
    return this.repo.pending(actor.communityId, new Date(this.clock.now()), limit);
  }

  /** The caller's own latest requests with their status (the requester's Home). */
  async mine(actor: Actor, limit: number): Promise<Array<{ request: KeyRequest; status: RequestStatus }>> {
    const out = [];
    for (const request of await this.repo.byRequester(actor.communityId, actor.userId, limit)) out.push({ request, status: await this.status(request) });
    return out;
  }

  /** Admin user ids of the community (the DM fallback when no approvals channel is set). */
  admins(communityId: string): Promise<string[]> {
    return this.members.adminIds(communityId);
  }
}
