import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Core } from '../core.js';
import type { VerifyResult } from '../keys/key-service.js';
import { CHECKSUM_LENGTH, checkToken, RANDOM_LENGTH } from '../keys/token.js';
import type { Logger } from '../log.js';
import { DEFAULT_LEASE_MS, epochKeys, RevocationEpoch } from '../revocation/revocation-epoch.js';
import type { Clock } from '../util/clock.js';
import { LastUsedRecorder } from './last-used.js';
import { MissLimiter } from './miss-limiter.js';
import type { VerifyResponse } from './schemas.js';
import { MALFORMED, outcomeOf, VerificationCache, type CacheEntry, type Flight, type VerifyOutcome } from './verification-cache.js';

export { VerificationCache, type VerifyOutcome, type VerifySource } from './verification-cache.js';

export interface VerifierOptions {
  /** Freshness lease of the revocation epoch, ms (must match the announcers'). Default 50. */
  leaseMs?: number;
  /** How often recorded uses are written as lastUsedAt, ms. Default 60 000 (once a minute per key at most). */
  touchIntervalMs?: number;
}

function toBody(r: VerifyResult): VerifyResponse {
  if (!r.valid) return { valid: false, reason: r.reason };
  const { keyId, name, roles, communityId } = r.key;
  return { valid: true, keyId, name, roles, communityId };
}

/**
 * The verification path of one process: format check, then the VerificationCache, then
 * MongoDB. A cached `valid` is served only while its revocation epoch is current, so none is
 * served after a revocation returned, on any replica (see RevocationEpoch and
 * docs/architecture.md "No stale valid after revoke").
 */
export class Verifier {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly tokenLength: number;
  /** Undefined when turned off (VERIFY_CACHE_TTL_MS or VERIFY_CACHE_MAX 0): every check reads MongoDB. */
  private readonly cache: VerificationCache | undefined;
  private readonly epoch: RevocationEpoch;
  private readonly misses: MissLimiter | undefined;
  private readonly lastUsed: LastUsedRecorder;
  /** Commands fail fast while disconnected: a verify must never queue behind a dead Redis. */
  private readonly redis: Redis;
  private readonly sub: Redis;
  private connected = false;
  private closed = false;
  private lastErrorLog = 0;

  constructor(
    private readonly core: Core,
    opts: VerifierOptions = {},
  ) {
    const { config } = core;
    this.log = core.log.child({ component: 'verifier' });
    this.clock = core.clock;
    this.prefix = config.KEY_PREFIX;
    this.tokenLength = this.prefix.length + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH;
    const ttlMs = config.VERIFY_CACHE_TTL_MS;
    this.cache =
      ttlMs > 0 && config.VERIFY_CACHE_MAX > 0
        ? new VerificationCache({ max: config.VERIFY_CACHE_MAX, negativeMax: config.VERIFY_NEGATIVE_CACHE_MAX, ttlMs })
        : undefined;

    this.redis = new Redis(config.REDIS_URL, { connectionName: 'keywarden-verify', enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000 });
    this.sub = new Redis(config.REDIS_URL, { connectionName: 'keywarden-verify-sub', maxRetriesPerRequest: null });
    this.redis.on('error', (e: Error) => this.redisFailed(e, 'reach Redis'));
    this.sub.on('error', (e: Error) => this.redisFailed(e, 'reach Redis (revocation channel)'));

    const { key, channel } = epochKeys(config.QUEUE_PREFIX);
    this.epoch = new RevocationEpoch(
      this.redis,
      key,
      channel,
      opts.leaseMs ?? DEFAULT_LEASE_MS,
      5,
      // Before the first connection, failed reads are expected (and connection errors are logged above).
      (e, doing) => this.connected && this.redisFailed(e, doing),
    );
    this.redis.on('ready', () => {
      this.connected = true;
      void this.epoch.fresh(performance.now());
    });

    // Announcing is KeyService's (through core.announcer, whoever revokes). Here the message
    // that goes with each announcement drops the entry at once; correctness does not depend
    // on it arriving (the epoch stamps do that).
    this.sub.on('message', (_channel: string, message: string) => this.heardRevocation(message));
    this.sub.subscribe(this.epoch.channel).catch((e: Error) => this.redisFailed(e, 'subscribe to the revocation channel'));

    this.misses =
      config.VERIFY_MISS_LIMIT > 0
        ? new MissLimiter(this.redis, config.QUEUE_PREFIX, { limit: config.VERIFY_MISS_LIMIT, windowMs: config.VERIFY_MISS_WINDOW_MS }, this.clock)
        : undefined;
    this.lastUsed = new LastUsedRecorder(
      core.keyUsage,
      this.redis,
      `${config.QUEUE_PREFIX}:last-used-lock`,
      this.log,
      opts.touchIntervalMs ?? 60_000,
      (record) => this.cache?.drainUses(record, performance.timeOrigin),
    );
  }

  /**
   * The answer when it needs no I/O: a malformed length, or a cache hit whose revocation
   * epoch is current; undefined when verify() must do more. A hit skips the full format
   * check: entries exist only for tokens that passed it, and their key is the token's SHA-256.
   */
  answerNow(token: string, arrival: number): VerifyOutcome | undefined {
    if (token.length !== this.tokenLength) return MALFORMED;
    if (!this.cache) return undefined;
    const key = VerificationCache.keyOf(token);
    const entry = this.cache.lookup(key, arrival);
    if (!entry) return undefined;
    return this.fromEntry(token, key, entry, arrival, this.epoch.peek(arrival));
  }

  /**
   * Answers "is this key good, and with which roles?" as the verify API returns it.
   * `arrival` is the request's performance.now(). With `client`, a token that must be read
   * from MongoDB and turns out `unknown` counts against that client's limit of misses
   * (VERIFY_MISS_LIMIT); once over it, tokens that need a read reject with a 429 HttpError.
   */
  async verify(token: string, arrival = performance.now(), client?: string): Promise<VerifyOutcome> {
    if (token.length !== this.tokenLength) return MALFORMED;
    const key = this.cache ? VerificationCache.keyOf(token) : '';
    const cached = await this.fromCache(token, key, arrival);
    if (cached) return cached;
    if (!checkToken(token, this.prefix).ok) return MALFORMED;
    if (!this.misses || client === undefined) return this.load(token, key, arrival);
    await this.misses.check(client);
    // The limiter's Redis round trip can outlast another request's read of this token, whose
    // answer is then cached and no longer in flight: look again rather than read again.
    const outcome = (await this.fromCache(token, key, arrival)) ?? (await this.load(token, key, arrival));
    if (!outcome.body.valid && outcome.body.reason === 'unknown') this.misses.record(client);
    return outcome;
  }

  /** True when this process's Redis connection answers PING (for /readyz). */
  async redisReachable(): Promise<boolean> {
    try {
      // Just started or reconnecting: give the connection a moment rather than fail at once.
      if (this.redis.status !== 'ready') await once(this.redis, 'ready', { signal: AbortSignal.timeout(1_000) });
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Flushes pending lastUsedAt writes and closes the Redis connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lastUsed.close();
    this.redis.disconnect();
    this.sub.disconnect();
  }

  /** The answer of the token's cache entry (read again if the entry cannot serve it); undefined: no entry. */
  private async fromCache(token: string, key: string, arrival: number): Promise<VerifyOutcome | undefined> {
    const entry = this.cache?.lookup(key, arrival);
    if (!entry) return undefined;
    const known = this.epoch.peek(arrival) ?? (await this.epoch.fresh(arrival));
    return this.fromEntry(token, key, entry, arrival, known) ?? this.load(token, key, arrival);
  }

  /** An entry's answer when `epoch` (the current one, if known) allows it; undefined: read MongoDB. */
  private fromEntry(token: string, key: string, entry: CacheEntry, arrival: number, epoch: string | undefined): VerifyOutcome | undefined {
    // Negative answers are final (see VerificationCache): they simply expire.
    if (!entry.valid) return entry.hit;
    // A key expires, and a rolled-away secret ends, at an instant, not by invalidation:
    // every entry carries that instant (a key that never ends needs no clock read).
    if (entry.endsAt !== Number.POSITIVE_INFINITY && entry.endsAt <= this.clock.now()) return entry.endsWith;
    if (arrival >= entry.refreshAt) this.refreshAhead(token, key, entry, arrival);
    return epoch !== undefined && epoch === entry.epoch ? this.cache!.hit(entry, arrival) : undefined;
  }

  /** Reads MongoDB, or shares a read of the same token already in flight (see VerificationCache.sharedRead). */
  private load(token: string, key: string, arrival: number): Promise<VerifyOutcome> {
    const cache = this.cache;
    if (!cache) return this.read(token, key, { readAt: Number.POSITIVE_INFINITY });
    const shared = cache.sharedRead(key, arrival, this.epoch.leaseMs);
    if (shared) return shared;
    const flight: Flight = { readAt: Number.POSITIVE_INFINITY };
    const answer = this.read(token, key, flight);
    cache.track(key, flight, answer);
    return answer;
  }

  private async read(token: string, key: string, flight: Flight): Promise<VerifyOutcome> {
    const cache = this.cache;
    const revision = cache?.revision ?? 0;
    // A `valid` is cached stamped with an epoch read before the MongoDB read starts. A stale
    // stamp would be safe but useless (the next hit would miss), so refresh it first if needed.
    const before = performance.now();
    const epoch = cache ? (this.epoch.peek(before) ?? (await this.epoch.fresh(before)) ?? this.epoch.known) : undefined;
    const startedAt = (flight.readAt = performance.now());
    const result = await this.core.keys.verify(token);
    const answer = outcomeOf(toBody(result), 'store');
    cache?.remember(key, result, answer, { revision, epoch, startedAt, now: performance.now() });
    if (result.valid) this.lastUsed.used(result.key.keyId);
    return answer;
  }

  /** A hot entry is re-read in the background before it expires, so its callers never wait for MongoDB. */
  private refreshAhead(token: string, key: string, entry: CacheEntry, arrival: number): void {
    entry.refreshAt = arrival + 1_000; // at most one attempt a second if MongoDB fails
    if (this.cache!.isReading(key)) return;
    this.load(token, key, arrival).catch((e: unknown) => this.log.debug({ err: (e as Error).message }, 'background refresh of a cached verification failed'));
  }

  private heardRevocation(message: string): void {
    try {
      const { keyId } = JSON.parse(message) as { keyId?: unknown };
      if (typeof keyId === 'string') this.cache?.forgetKey(keyId);
    } catch {
      this.log.warn('ignored a malformed message on the revocation channel');
    }
  }

  private redisFailed(err: Error, doing: string): void {
    // Redis down means one line per 10 s, not one per request.
    if (Date.now() - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = Date.now();
    this.log.warn({ err: err.message }, `verifier could not ${doing}; positive cache hits go to MongoDB meanwhile`);
  }
}

/** The verifier of one process (the API server's). */
export function createVerifier(core: Core, opts: VerifierOptions = {}): Verifier {
  return new Verifier(core, opts);
}
