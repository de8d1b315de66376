import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { KeyError } from '../errors.js';
import type { KeyService } from '../keys/key-service.js';
import type { KeyRecord } from '../keys/key-record.js';
import { generateKeyId } from '../keys/token.js';
import type { Actor, MemberService } from '../members/member-service.js';
import type { Models } from '../store/mongo.js';
import type { Clock } from '../util/clock.js';

export const WHY_RULE = 'Say why you need it in 10–500 characters.';
const why = z.string({ message: WHY_RULE }).trim().min(10, { message: WHY_RULE }).max(500, { message: WHY_RULE });

export type RequestState = 'pending' | 'approved' | 'denied' | 'cancelled' | 'lapsed';

export interface KeyRequest {
  requestId: string;
  communityId: string;
  requestedBy: string;
  input: { name: string; description: string; roles: string[]; expiresInDays?: number | null; expiresOn?: string };
  why: string;
  keyId: string;
  createdAt: Date;
  lapsesAt: Date;
}

export interface Decision {
  decision: 'approved' | 'denied' | 'cancelled';
  by: string;
  at: Date;
  reason?: string | undefined;
}

export interface RequestOptions {
  openToAll: boolean;
  ttlDays: number;
  fourEyes: boolean;
}

/** The outcome of an approval: the winner gets the key and its token (once); anyone else the decision that stands. */
export type ApproveResult =
  { won: true; request: KeyRequest; key: KeyRecord; token: string } | { won: false; request: KeyRequest; decision: Decision | undefined; state: RequestState };

const DAY_MS = 86_400_000;

/**
 * Key requests: a viewer asks, an admin approves (the key is created as an admin's create
 * would, owned by the requester) or denies, the requester may cancel, and undecided requests
 * lapse. Whoever inserts `<requestId>:decision` first decides; nothing is ever updated in place.
 */
export class RequestService {
  constructor(
    private readonly m: Models,
    private readonly keys: KeyService,
    private readonly members: MemberService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly opts: RequestOptions,
  ) {}

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
    const doc = {
      _id: `rq_${randomBytes(9).toString('base64url')}`,
      communityId: actor.communityId,
      requestedBy: actor.userId,
      input,
      why: w,
      keyId: generateKeyId(),
      createdAt: new Date(now),
      lapsesAt: new Date(now + this.opts.ttlDays * DAY_MS),
    };
    await this.m.keyRequests.create(doc);
    return toRequest(doc);
  }

  async find(communityId: string, requestId: string): Promise<KeyRequest | undefined> {
    const doc = await this.m.keyRequests.findOne({ _id: requestId, communityId }).lean();
    return doc ? toRequest(doc) : undefined;
  }

  async decisionOf(requestId: string): Promise<Decision | undefined> {
    const d = await this.m.requestDecisions.findById(`${requestId}:decision`).lean();
    return d ? { decision: d.decision, by: d.by, at: d.at, reason: d.reason ?? undefined } : undefined;
  }

  stateOf(request: KeyRequest, decision: Decision | undefined): RequestState {
    if (decision) return decision.decision;
    return this.clock.now() >= request.lapsesAt.getTime() ? 'lapsed' : 'pending';
  }

  private async load(actor: Actor, requestId: string): Promise<KeyRequest> {
    const request = await this.find(actor.communityId, requestId);
    if (!request) throw new KeyError('not_found', `No key request \`${requestId}\` in this workspace.`);
    return request;
  }

  /** Inserts the decision; true when this caller decided. */
  private async decide(request: KeyRequest, d: Decision): Promise<boolean> {
    try {
      await this.m.requestDecisions.create({ _id: `${request.requestId}:decision`, communityId: request.communityId, requestId: request.requestId, ...d });
    } catch (e) {
      if ((e as { code?: number }).code === 11000) return false;
      throw e;
    }
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

  /** Admins only (FOUR_EYES: not one's own). The winner creates the key under the request's keyId. */
  async approve(actor: Actor, requestId: string): Promise<ApproveResult> {
    await this.members.requireAdmin(actor, 'approve key requests');
    const request = await this.load(actor, requestId);
    if (this.opts.fourEyes && request.requestedBy === actor.userId) {
      throw new KeyError('forbidden', 'This is your own request; another admin must approve it (FOUR_EYES).');
    }
    const before = await this.decisionOf(requestId);
    const state = this.stateOf(request, before);
    if (state !== 'pending') return { won: false, request, decision: before, state };
    // Validated again at decision time: the role catalog may have changed since the request.
    this.keys.validate(request.input);
    const won = await this.decide(request, { decision: 'approved', by: actor.userId, at: new Date(this.clock.now()) });
    if (!won) {
      const decision = await this.decisionOf(requestId);
      return { won: false, request, decision, state: this.stateOf(request, decision) };
    }
    const { key, token } = await this.keys.create(actor, request.input, { keyId: request.keyId, requestedBy: request.requestedBy });
    return { won: true, request, key, token };
  }

  /** Admins deny with a reason; the requester cancels. Returns whether this call decided, and the decision that stands. */
  async deny(
    actor: Actor,
    requestId: string,
    reason: string,
  ): Promise<{ won: boolean; request: KeyRequest; decision: Decision | undefined; state: RequestState }> {
    await this.members.requireAdmin(actor, 'deny key requests');
    const text = reason.replace(/\s+/g, ' ').trim();
    if (text.length < 3 || text.length > 500)
      throw new KeyError('invalid_input', 'Give a reason of 3–500 characters.', { reason: 'Give a reason of 3–500 characters.' });
    return this.close(actor, requestId, { decision: 'denied', by: actor.userId, at: new Date(this.clock.now()), reason: text });
  }

  async cancel(actor: Actor, requestId: string) {
    const request = await this.load(actor, requestId);
    if (request.requestedBy !== actor.userId) throw new KeyError('forbidden', 'Only the person who asked can cancel a request.');
    return this.close(actor, requestId, { decision: 'cancelled', by: actor.userId, at: new Date(this.clock.now()) });
  }

  private async close(actor: Actor, requestId: string, d: Decision) {
    const request = await this.load(actor, requestId);
    const before = await this.decisionOf(requestId);
    if (this.stateOf(request, before) !== 'pending') return { won: false, request, decision: before, state: this.stateOf(request, before) };
    const won = await this.decide(request, d);
    const decision = won ? d : await this.decisionOf(requestId);
    return { won, request, decision, state: this.stateOf(request, decision) };
  }

  /** Records where a copy of the request was posted. */
  async addMessage(requestId: string, channel: string, ts: string): Promise<void> {
    await this.m.requestMessages.create({ _id: `${requestId}:${channel}:${ts}`, requestId, channel, ts });
  }

  async messagesOf(requestId: string): Promise<Array<{ channel: string; ts: string }>> {
    return (await this.m.requestMessages.find({ requestId }).lean()).map((r) => ({ channel: r.channel, ts: r.ts }));
  }

  /** Undecided, unlapsed requests, newest first (admins' Home). */
  async pending(actor: Actor, limit: number): Promise<KeyRequest[]> {
    if ((await this.members.roleOf(actor)) !== 'admin') return [];
    const rows = await this.m.keyRequests
      .find({ communityId: actor.communityId, lapsesAt: { $gt: new Date(this.clock.now()) } })
      .sort({ createdAt: -1 })
      .limit(50)
      .lean();
    const decided = new Set((await this.m.requestDecisions.find({ _id: { $in: rows.map((r) => `${r._id}:decision`) } }).lean()).map((d) => d.requestId));
    return rows
      .filter((r) => !decided.has(r._id))
      .slice(0, limit)
      .map(toRequest);
  }

  /** The caller's own latest requests with their state (the requester's Home). */
  async mine(actor: Actor, limit: number): Promise<Array<{ request: KeyRequest; state: RequestState; decision: Decision | undefined }>> {
    const rows = await this.m.keyRequests.find({ communityId: actor.communityId, requestedBy: actor.userId }).sort({ createdAt: -1 }).limit(limit).lean();
    const out = [];
    for (const r of rows) {
      const request = toRequest(r);
      const decision = await this.decisionOf(request.requestId);
      out.push({ request, decision, state: this.stateOf(request, decision) });
    }
    return out;
  }

  /** Admin user ids of the community (the DM fallback when no approvals channel is set). */
  async admins(communityId: string): Promise<string[]> {
    return (await this.m.members.find({ communityId, role: 'admin' }).lean()).map((r) => r.slackUserId);
  }
}

function toRequest(d: {
  _id: string;
  communityId: string;
  requestedBy: string;
  input: unknown;
  why: string;
  keyId: string;
  createdAt: Date;
  lapsesAt: Date;
}): KeyRequest {
  return {
    requestId: d._id,
    communityId: d.communityId,
    requestedBy: d.requestedBy,
    input: d.input as KeyRequest['input'],
    why: d.why,
    keyId: d.keyId,
    createdAt: d.createdAt,
    lapsesAt: d.lapsesAt,
  };
}
