import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { systemMonotonicClock, type MonotonicClock } from '../util/monotonic-clock.js';

/** Where a deployment keeps its epoch and announces revocations: shared by announcers and verifiers. */
export const epochKeys = (queuePrefix: string) => ({ key: `${queuePrefix}:verify-epoch`, channel: `${queuePrefix}:key-revoked` });

/** The default freshness lease `L`, ms. */
export const DEFAULT_LEASE_MS = 50;

/**
 * The revocation epoch: a random value in Redis that every revocation replaces, read by
 * every replica under a short freshness lease. It is what makes "a key revoked before a
 * revoke call returned is never reported valid afterwards, by any replica" hold without a
 * Redis round trip per cached hit, and without trusting pub/sub delivery.
 *
 * The argument, with `L` = `leaseMs`:
 * 1. A revoke commits in MongoDB, then SETs a fresh random epoch (executed at time `tI`),
 *    then waits at least `L` before returning. So a verify that starts after the revoke
 *    returned starts at `th ≥ tI + L`.
 * 2. A positive cache entry is stamped with the epoch the replica had read *before* its
 *    MongoDB read began, and is served only while the replica's current epoch equals the
 *    stamp *and* that current value came from a GET sent less than `L` before `th` (the GET
 *    ran at or after it was sent, so at or after `th - L ≥ tI`: it sees the new epoch).
 * 3. Epoch values are random, so a value never comes back once replaced (no ABA, even if
 *    Redis loses the key: a missing key is re-seeded with a new random value). Matching
 *    stamps therefore mean no revocation ran between the stamp's read and the current one,
 *    and any revocation before the stamp was committed before the entry's MongoDB read.
 * Stale entries are not served; the request reads MongoDB instead. If Redis cannot be read,
 * no positive entry is served at all (fail closed to MongoDB, never to a stale `valid`).
 *
 * Assumptions: one Redis primary (a failover that loses the last SET weakens step 1), and
 * monotonic clocks that advance at real-time rate (drift is ppm; the revoker waits
 * `L + marginMs`). If the revoking process cannot reach Redis, `bump` throws: the revocation
 * stays recorded in MongoDB with its announcement pending (see RedisRevocationAnnouncer and
 * KeyService.revoke), the caller is told replicas may accept the key for up to
 * VERIFY_CACHE_TTL_MS more, and the announcement is retried until it is made.
 *
 * Each process that verifies holds one instance for reads; an announcer holds another for
 * bumps. They need not share an instance: a reader's value ages out of the lease on its own.
 */
export class RevocationEpoch {
  private value: string | undefined;
  /** clock.now() when the GET (or SET) that produced `value` was sent. */
  private sentAt = Number.NEGATIVE_INFINITY;
  /** Bumped by `invalidate()`: replies to reads sent before it are ignored. */
  private version = 0;
  private inflight: { sentAt: number; done: Promise<void> } | undefined;

  constructor(
    private readonly redis: Redis,
    /** Redis key holding the epoch. */
    readonly key: string,
    /** Pub/sub channel announcing revocations (`{"keyId"}`), for prompt local drops. */
    readonly channel: string,
    /** Freshness lease `L` in ms; default 50. */
    readonly leaseMs = 50,
    /** Extra wait on top of the lease for timer and clock slack; default 5. */
    readonly marginMs = 5,
    private readonly onError: (err: Error, doing: string) => void = () => undefined,
    private readonly clock: MonotonicClock = systemMonotonicClock,
  ) {}

  /** The last epoch read, whatever its age: what a MongoDB read about to start is stamped with. */
  get known(): string | undefined {
    return this.value;
  }

  /**
   * The epoch if it is fresh enough to serve a request that arrived at `arrival`, else
   * undefined. Starts a background refresh once half of the lease is used, so a busy
   * process does not wait unless a Redis round trip takes over half the lease (and a busy
   * process reads Redis at most 2 / lease times a second: 40/s at the default 50 ms).
   */
  peek(arrival: number): string | undefined {
    const age = arrival - this.sentAt;
    if (age >= this.leaseMs / 2 && !this.inflight) void this.refresh();
    return age < this.leaseMs ? this.value : undefined;
  }

  /** The epoch as of a read sent less than `leaseMs` before `arrival`; undefined if Redis cannot say. */
  async fresh(arrival: number): Promise<string | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.peek(arrival);
      if (now !== undefined) return now;
      const pending = this.inflight && this.inflight.sentAt > arrival - this.leaseMs ? this.inflight : this.refresh();
      await pending.done;
    }
    return this.peek(arrival);
  }

  /** Forgets freshness (a revocation is under way here): the next hits must read Redis again. */
  invalidate(): void {
    this.version++;
    this.sentAt = Number.NEGATIVE_INFINITY;
    this.inflight = undefined;
  }

  /**
   * Announces a revocation (or several at once): replaces the epoch and publishes each
   * keyId, then waits out the lease so every replica's next positive hit must see the new epoch. Retries briefly
   * (100, 200, 400 ms apart); throws if Redis stays unreachable.
   */
  async bump(keyId: string | readonly string[], attempts = 4): Promise<void> {
    // Several keys (a mass revocation): one new epoch for all, each keyId published.
    const keyIds = typeof keyId === 'string' ? [keyId] : keyId;
    let last: Error | undefined;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await this.clock.sleep(100 * 2 ** (i - 1));
      const next = randomUUID();
      const sentAt = this.clock.now();
      const version = this.version;
      try {
        const multi = this.redis.multi().set(this.key, next);
        for (const id of keyIds) multi.publish(this.channel, JSON.stringify({ keyId: id }));
        const replies = await multi.exec();
        const failed = replies?.find(([err]) => err);
        if (!replies || failed) throw failed?.[0] ?? new Error('transaction aborted');
        this.adopt(next, sentAt, version);
        await this.clock.sleep(this.leaseMs + this.marginMs);
        return;
      } catch (e) {
        last = e as Error;
      }
    }
    throw new Error(`could not announce the revocation on Redis: ${last?.message}`);
  }

  private refresh(): { sentAt: number; done: Promise<void> } {
    const sentAt = this.clock.now();
    const version = this.version;
    const done = this.read()
      .then(
        (v) => this.adopt(v, sentAt, version),
        (e: Error) => this.onError(e, 'read the revocation epoch'),
      )
      .finally(() => {
        if (this.inflight?.sentAt === sentAt) this.inflight = undefined;
      });
    const flight = { sentAt, done };
    this.inflight = flight;
    return flight;
  }

  /** GET; a missing key (fresh or wiped Redis) is seeded with a new random value first. */
  private async read(): Promise<string> {
    const v = await this.redis.get(this.key);
    if (v !== null) return v;
    await this.redis.set(this.key, randomUUID(), 'NX');
    const seeded = await this.redis.get(this.key);
    if (seeded === null) throw new Error('epoch key vanished while seeding');
    return seeded;
  }

  private adopt(value: string, sentAt: number, version: number): void {
    if (version !== this.version || sentAt <= this.sentAt) return;
    this.value = value;
    this.sentAt = sentAt;
  }
}
