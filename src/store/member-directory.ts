import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type { Member } from '../members/member-record.js';
import type { Logger } from '../log.js';
import { DEFAULT_LEASE_MS, RevocationEpoch } from '../revocation/revocation-epoch.js';
import { failFastRedis } from '../util/fail-fast-redis.js';
import { systemMonotonicClock, type MonotonicClock } from '../util/monotonic-clock.js';

export interface MemberDirectoryOptions {
  /** Keys of its Redis entries: the queue prefix and the database name, as the key directory's. */
  namespace: string;
  /**
   * The longest a community's members are served from memory, ms (default 30 000): the bound
   * on staleness if a member change was committed but its epoch bump never made (the writer
   * could not reach Redis, or died in between).
   */
  maxAgeMs?: number;
  /** Communities held at most (least recently checked dropped first). Default 10 000. */
  maxCommunities?: number;
  clock?: MonotonicClock;
}

interface Held {
  /** The membership epoch read before the members were read. */
  stamp: string;
  /** clock.now() when that read started. */
  loadedAt: number;
  members: Map<string, Member>;
}

/**
 * The membership checks' read path: each community's members held in memory, served while
 * the membership epoch in Redis is the one they were read under.
 *
 * Why: every command, click and submission checks its caller's role. On FerretDB that read
 * is a scan costing about 1 ms of the database's CPU and 0.5 ms of ours; under 10 concurrent
 * `/apikey list` it was the largest cost left on the app's thread and acks queued behind it
 * (`npm run bench -- slack-ack`).
 *
 * Guarantee: a membership change (add, role change, removal) made before the call that made
 * it returned is seen by every later check, on every replica. It is the revocation epoch's
 * argument (src/revocation/revocation-epoch.ts, on a Redis key of its own): the writer commits
 * in MongoDB, then replaces the epoch with a new random value and waits out the lease before
 * returning; a check serves held members only if their stamp equals an epoch read less than
 * the lease before the check began, so a check that begins after the change returned sees the
 * new epoch and reads MongoDB again. If Redis cannot be read, nothing is served from memory
 * (`find` answers undefined and the caller reads MongoDB). If the writer cannot bump the
 * epoch, the change is committed and other replicas may serve the old role for up to
 * `maxAgeMs`; the writer logs that. Members are few per community: one read holds them all,
 * so different users of a busy workspace share it.
 */
export class MemberDirectory {
  private readonly epoch: RevocationEpoch;
  private readonly held: LRUCache<string, Held>;
  /** Reads of a community under way, shared by the checks that need them. */
  private readonly loading = new Map<string, { stamp: string; done: Promise<Held> }>();
  private readonly clock: MonotonicClock;
  private readonly maxAgeMs: number;
  private lastErrorLog = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: Redis,
    private readonly readCommunity: (communityId: string) => Promise<Member[]>,
    private readonly log: Logger,
    opts: MemberDirectoryOptions,
  ) {
    this.clock = opts.clock ?? systemMonotonicClock;
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.held = new LRUCache({ max: opts.maxCommunities ?? 10_000 });
    const key = `${opts.namespace}:members-epoch`;
    // Nothing listens on the channel: member changes are published by the epoch alone.
    this.epoch = new RevocationEpoch(redis, key, `${key}:changed`, DEFAULT_LEASE_MS, 5, (e) => this.warn(e), this.clock);
  }

  /**
   * A member as of a read that began after every membership change that had returned before
   * this call; null if the user is not a member; undefined if Redis cannot vouch for memory
   * (the caller reads MongoDB).
   */
  async find(communityId: string, slackUserId: string): Promise<Member | null | undefined> {
    const arrival = this.clock.now();
    await this.connect();
    const epoch = await this.epoch.fresh(arrival);
    if (epoch === undefined) return undefined;
    let held = this.held.get(communityId);
    if (!held || held.stamp !== epoch || arrival - held.loadedAt >= this.maxAgeMs) held = await this.load(communityId, epoch, arrival);
    return held.members.get(slackUserId) ?? null;
  }

  /**
   * Called by the one writer of `members` after each committed change: a new epoch, then the
   * lease waited out, so that no replica serves what it held before. Does not throw: the
   * change is made either way (see the class comment for what a failed bump means).
   */
  async changed(communityId: string): Promise<void> {
    this.held.delete(communityId);
    try {
      await this.connect();
      await this.epoch.bump([]);
    } catch (e) {
      this.log.warn(
        { communityId, err: (e as Error).message },
        `membership change saved, but not announced on Redis: other replicas may act on the old role for up to ${this.maxAgeMs / 1000} s`,
      );
    }
  }

  close(): void {
    this.redis.disconnect();
  }

  private load(communityId: string, stamp: string, arrival: number): Promise<Held> {
    const under = this.loading.get(communityId);
    // A read under way serves this check too if it was stamped with the epoch this check saw:
    // that epoch was read before the read began, so the read began after every change the
    // epoch reflects (the same argument as for a held entry).
    if (under?.stamp === stamp) return under.done;
    const done = this.readCommunity(communityId)
      .then((members) => {
        const held: Held = { stamp, loadedAt: arrival, members: new Map(members.map((m) => [m.slackUserId, m])) };
        const current = this.held.peek(communityId);
        if (!current || current.loadedAt <= arrival) this.held.set(communityId, held);
        return held;
      })
      .finally(() => {
        if (this.loading.get(communityId)?.done === done) this.loading.delete(communityId);
      });
    this.loading.set(communityId, { stamp, done });
    return done;
  }

  /** Opens the connection on first use; a failure shows in the command that follows. */
  private async connect(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
  }

  private warn(e: Error): void {
    // Failed reads repeat while Redis is down: one line per minute.
    if (Date.now() - this.lastErrorLog < 60_000) return;
    this.lastErrorLog = Date.now();
    this.log.warn({ err: e.message }, 'member directory cannot read the membership epoch from Redis; membership checks read MongoDB');
  }
}

/** The member directory's Redis connection: fails fast, so a check falls back to MongoDB at once while Redis is down. */
export function memberDirectoryRedis(url: string): Redis {
  const redis = failFastRedis(url, 'keywarden-member-directory');
  redis.on('error', () => undefined); // reported through the epoch's reads (see warn)
  return redis;
}
