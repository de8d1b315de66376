import type { Decision, KeyRequest, RequestMark } from '../requests/request-record.js';
import type { Models } from './mongo.js';

const isDuplicate = (e: unknown) => (e as { code?: number }).code === 11000;

type RequestRow = {
  _id: string;
  communityId: string;
  requestedBy: string;
  input: unknown;
  why: string;
  keyId: string;
  createdAt: Date;
  lapsesAt: Date;
};

function toRequest(d: RequestRow): KeyRequest {
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

/**
 * Persistence of key requests. A request is written once (plus `settledAt`, written only by
 * {@link settle}); its decision, marks and message copies are inserts under deterministic
 * ids, so the database decides every race (FerretDB v1's conditional updates are not atomic).
 */
export class RequestRepository {
  constructor(private readonly m: Models) {}

  async insert(r: KeyRequest): Promise<void> {
    const { requestId, ...rest } = r;
    await this.m.keyRequests.create({ _id: requestId, ...rest });
  }

  async find(communityId: string, requestId: string): Promise<KeyRequest | undefined> {
    const d = await this.m.keyRequests.findOne({ _id: requestId, communityId }).lean<RequestRow>();
    return d ? toRequest(d) : undefined;
  }

  /** The jobs get only ids. */
  async findById(requestId: string): Promise<KeyRequest | undefined> {
    const d = await this.m.keyRequests.findById(requestId).lean<RequestRow>();
    return d ? toRequest(d) : undefined;
  }

  async decisionOf(requestId: string): Promise<Decision | undefined> {
    const d = await this.m.requestDecisions.findById(`${requestId}:decision`).lean();
    return d ? { decision: d.decision, by: d.by, at: d.at, reason: d.reason ?? undefined } : undefined;
  }

  /** The decisions of several requests (the scan), by requestId. */
  async decisionsOf(requestIds: string[]): Promise<Map<string, Decision>> {
    const rows = await this.m.requestDecisions.find({ _id: { $in: requestIds.map((id) => `${id}:decision`) } }).lean();
    return new Map(rows.map((d) => [d.requestId, { decision: d.decision, by: d.by, at: d.at, reason: d.reason ?? undefined }]));
  }

  /** Inserts the decision; true when this caller decided (false: one already stands). */
  async decide(request: KeyRequest, d: Decision): Promise<boolean> {
    try {
      await this.m.requestDecisions.create({ _id: `${request.requestId}:decision`, communityId: request.communityId, requestId: request.requestId, ...d });
      return true;
    } catch (e) {
      if (isDuplicate(e)) return false;
      throw e;
    }
  }

  async marksOf(requestId: string): Promise<RequestMark[]> {
    const rows = await this.m.requestMarks.find({ requestId }).lean();
    return rows.map((r) => ({ kind: r.kind, n: r.n ?? undefined, at: r.at, what: r.kind === 'told' ? r._id.split(':told:')[1] : undefined }));
  }

  /**
   * Inserts a mark once: `claim`/`failed` of attempt `n`, `delivered`, or `told` of `what`.
   * True when this caller inserted it.
   */
  async mark(requestId: string, m: { kind: RequestMark['kind']; n?: number; what?: string; at: Date; by?: string; via?: string }): Promise<boolean> {
    const id =
      m.kind === 'delivered' ? `${requestId}:delivered` : m.kind === 'told' ? `${requestId}:told:${m.what ?? ''}` : `${requestId}:${m.kind}:${m.n ?? 0}`;
    try {
      await this.m.requestMarks.create({ _id: id, requestId, kind: m.kind, n: m.n, at: m.at, by: m.by, via: m.via });
      return true;
    } catch (e) {
      if (isDuplicate(e)) return false;
      throw e;
    }
  }

  /** Gives a `told` mark back (nothing could be posted), so a later pass tells it. */
  async unmark(requestId: string, what: string): Promise<void> {
    await this.m.requestMarks.deleteOne({ _id: `${requestId}:told:${what}` });
  }

  async keyExists(communityId: string, keyId: string): Promise<boolean> {
    return (await this.m.apiKeys.countDocuments({ communityId, keyId })) > 0;
  }

  async addMessage(requestId: string, channel: string, ts: string): Promise<void> {
    await this.m.requestMessages.create({ _id: `${requestId}:${channel}:${ts}`, requestId, channel, ts });
  }

  async messagesOf(requestId: string): Promise<Array<{ channel: string; ts: string }>> {
    return (await this.m.requestMessages.find({ requestId }).lean()).map((r) => ({ channel: r.channel, ts: r.ts }));
  }

  /** Undecided requests that have not lapsed, newest first. */
  async pending(communityId: string, now: Date, limit: number): Promise<KeyRequest[]> {
    const rows = await this.m.keyRequests
      .find({ communityId, lapsesAt: { $gt: now } })
      .sort({ createdAt: -1 })
      .limit(50)
      .lean<RequestRow[]>();
    const decided = new Set((await this.m.requestDecisions.find({ _id: { $in: rows.map((r) => `${r._id}:decision`) } }).lean()).map((d) => d.requestId));
    return rows
      .filter((r) => !decided.has(r._id))
      .slice(0, limit)
      .map(toRequest);
  }

  async byRequester(communityId: string, userId: string, limit: number): Promise<KeyRequest[]> {
    const rows = await this.m.keyRequests.find({ communityId, requestedBy: userId }).sort({ createdAt: -1 }).limit(limit).lean<RequestRow[]>();
    return rows.map(toRequest);
  }

  /** Requests the scan has not settled yet, oldest first. */
  async unsettled(limit: number): Promise<KeyRequest[]> {
    const rows = await this.m.keyRequests.find({ settledAt: null }).sort({ settledAt: 1, createdAt: 1 }).limit(limit).lean<RequestRow[]>();
    return rows.map(toRequest);
  }

  /** The scan's one write to a request: nothing is left to do for it. */
  async settle(requestId: string, at: Date): Promise<void> {
    await this.m.keyRequests.updateOne({ _id: requestId }, { $set: { settledAt: at } });
  }
}
