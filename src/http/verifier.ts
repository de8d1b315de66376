import { createHash, hash as oneShotHash } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Core } from '../core.js';
import type { VerifyResult } from '../keys/key-service.js';
import { CHECKSUM_LENGTH, checkToken, RANDOM_LENGTH } from '../keys/token.js';
import { LastUsedRecorder } from './last-used.js';
import { DEFAULT_LEASE_MS, epochKeys, RevocationEpoch } from '../revocation/revocation-epoch.js';
import { MissLimiter } from './miss-limiter.js';
import type { VerifyResponse } from './schemas.js';

/** Where an answer came from: the token's shape, this process's cache, or MongoDB. */
export type VerifySource = 'format' | 'cache' | 'store';

export interface VerifyOutcome {
  body: VerifyResponse;
  /** `body` as JSON, serialised once per cache entry rather than once per hit. */
  json: string;
  /** UTF-8 length of `json` as text (its Content-Length), also computed once. */
  length: string;
  source: VerifySource;
  /**
   * Free for the caller to remember what it derives from this outcome (the verify route keeps
   * its metric series here): a cache hit returns the same outcome object every time.
   */
  memo?: unknown;
}

export interface Verifier {
  /** Answers "is this key good, and with which roles?" as the verify API returns it. */
  verify(token: string): Promise<VerifyOutcome>;
  /**
   * verify() for the hot path: the outcome itself when it needs no I/O (malformed, or a
   * cache hit whose revocation epoch is fresh), else the promise verify() would return.
   * With `client`, a token that must be read from MongoDB and turns out `unknown` counts
   * against that client's limit of misses (VERIFY_MISS_LIMIT); once over it, tokens that
   * need a read reject with a 429 HttpError.
   */
  verifyNow(token: string, arrival?: number, client?: string): VerifyOutcome | Promise<VerifyOutcome>;
  /** True when this process's Redis connection answers PING (for /readyz). */
  redisReachable(): Promise<boolean>;
  /** Flushes pending lastUsedAt writes and closes the Redis connections. */
  close(): Promise<void>;
}

export interface VerifierOptions {
  /** Freshness lease of the revocation epoch, ms (must match the announcers'). Default 50. */
  leaseMs?: number;
  /** How often recorded uses are written as lastUsedAt, ms. Default 60 000 (once a minute per key at most). */
  touchIntervalMs?: number;
}

interface Entry {
  body: VerifyResponse;
  /** The outcome a hit on this entry returns, built once. */
  hit: VerifyOutcome;
  /** The key, for keyId → hash invalidation (absent for `unknown`). */
  keyId?: string;
  /**
   * When a `valid` answer ends (ms since the epoch, the domain clock): the key's expiry, or
   * the end of a rolled-away secret's overlap; Infinity: never. Answered by `endsWith` after.
   */
  endsAt: number;
  endsWith: VerifyOutcome;
  /** Revocation epoch known before the MongoDB read that produced a `valid` answer. */
  epoch?: string;
  /** performance.now() of the latest hit not yet handed to the lastUsedAt recorder; 0 when none is. */
  usedAt: number;
  /** performance.now() after which a hit starts a background re-read (see REFRESH_AHEAD). */
  refreshAt: number;
}

/** A MongoDB read in flight: when it began (Infinity until it does) and its answer. */
interface Flight {
  readAt: number;
  answer?: Promise<VerifyOutcome>;
}

/** Share of an entry's lifetime after which a hit re-reads it in the background. */
const REFRESH_AHEAD = 0.8;

function outcomeOf(body: VerifyResponse, source: VerifySource): VerifyOutcome {
  const json = JSON.stringify(body);
  return { body, json, length: String(Buffer.byteLength(json)), source };
}

const MALFORMED = outcomeOf({ valid: false, reason: 'malformed' }, 'format');
const EXPIRED = outcomeOf({ valid: false, reason: 'expired' }, 'cache');
const ROLLED = outcomeOf({ valid: false, reason: 'rolled' }, 'cache');

/** When a valid answer ends, and what it becomes: the earlier of the key's expiry and the secret's overlap end. */
function endOf(r: VerifyResult): { endsAt: number; endsWith: VerifyOutcome } {
  if (!r.valid) return { endsAt: Number.POSITIVE_INFINITY, endsWith: EXPIRED };
  const expiry = r.key.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const until = r.validUntil?.getTime() ?? Number.POSITIVE_INFINITY;
  return until < expiry ? { endsAt: until, endsWith: ROLLED } : { endsAt: expiry, endsWith: EXPIRED };
}

/**
 * The cache key: SHA-256 of the token as a 32-character latin1 string (cheaper to make and
 * to hash into a Map than 64 hex digits). The cache lives in this process only, so it needs
 * no pepper; the token itself is never kept.
 */
const cacheKey = typeof oneShotHash === 'function'
  ? (token: string) => oneShotHash('sha256', token, 'binary')
  : (token: string) => createHash('sha256').update(token).digest('binary');

function toBody(r: VerifyResult): VerifyResponse {
  if (!r.valid) return { valid: false, reason: r.reason };
  const { keyId, name, roles, communityId } = r.key;
  return { valid: true, keyId, name, roles, communityId };
}

/**
 * The verification path of one process: format check, then a bounded LRU keyed by the
 * token's hash (never the token), then MongoDB. See RevocationEpoch for why a cached
 * `valid` is never served after a revocation returned, on any replica.
 *
 * Negative entries are safe to cache: tokens carry ≥160 random bits from crypto.randomBytes
 * and a token exists only once its key is stored (the creator learns it after the insert),
 * so a token answered `unknown` cannot later become a key; and `revoked` is final. They live
 * in a cache of their own (VERIFY_NEGATIVE_CACHE_MAX): anyone can mint tokens with a good
 * checksum, and in a shared LRU a stream of them would evict the hot `valid` entries.
 */
export function createVerifier(core: Core, opts: VerifierOptions = {}): Verifier {
  const { config, log, clock } = core;
  const vlog = log.child({ component: 'verifier' });
  const prefix = config.KEY_PREFIX;
  const ttl = config.VERIFY_CACHE_TTL_MS;
  const enabled = ttl > 0 && config.VERIFY_CACHE_MAX > 0;

  let lastErrorLog = 0;
  const onRedisError = (err: Error, doing: string) => {
    // Redis down means one line per 10 s, not one per request.
    if (Date.now() - lastErrorLog < 10_000) return;
    lastErrorLog = Date.now();
    vlog.warn({ err: err.message }, `verifier could not ${doing}; positive cache hits go to MongoDB meanwhile`);
  };

  // Commands fail fast while disconnected: a verify must never queue behind a dead Redis.
  const redis = new Redis(config.REDIS_URL, { connectionName: 'keywarden-verify', enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000 });
  const sub = new Redis(config.REDIS_URL, { connectionName: 'keywarden-verify-sub', maxRetriesPerRequest: null });
  redis.on('error', (e: Error) => onRedisError(e, 'reach Redis'));
  sub.on('error', (e: Error) => onRedisError(e, 'reach Redis (revocation channel)'));

  let connected = false;
  const { key: epochKey, channel } = epochKeys(config.QUEUE_PREFIX);
  const epoch = new RevocationEpoch(
    redis, epochKey, channel, opts.leaseMs ?? DEFAULT_LEASE_MS, 5,
    // Before the first connection, failed reads are expected (and connection errors are logged above).
    (e, doing) => connected && onRedisError(e, doing),
  );

  redis.on('ready', () => {
    connected = true;
    void epoch.fresh(performance.now());
  });

  const byKeyId = new Map<string, string>();
  const cache = enabled
    ? new LRUCache<string, Entry>({
        max: config.VERIFY_CACHE_MAX,
        ttl,
        dispose: (entry, hash) => {
          if (entry.keyId && byKeyId.get(entry.keyId) === hash) byKeyId.delete(entry.keyId);
        },
      })
    : undefined;
  const negative = enabled && config.VERIFY_NEGATIVE_CACHE_MAX > 0
    ? new LRUCache<string, Entry>({ max: config.VERIFY_NEGATIVE_CACHE_MAX, ttl })
    : undefined;
  const misses = config.VERIFY_MISS_LIMIT > 0
    ? new MissLimiter(redis, config.QUEUE_PREFIX, { limit: config.VERIFY_MISS_LIMIT, windowMs: config.VERIFY_MISS_WINDOW_MS }, clock)
    : undefined;
  /** Bumped by every local or announced revocation: MongoDB reads in flight across it are not cached. */
  let generation = 0;
  let closed = false;

  const dropKey = (keyId: string) => {
    generation++;
    const hash = byKeyId.get(keyId);
    if (hash !== undefined) cache?.delete(hash);
  };

  // Announcing is KeyService's (through core.announcer, whoever revokes). Here the message
  // that goes with each announcement drops the entry at once; correctness does not depend
  // on it arriving (the epoch stamps do that).
  sub.on('message', (_channel: string, message: string) => {
    try {
      const { keyId } = JSON.parse(message) as { keyId?: unknown };
      if (typeof keyId === 'string') dropKey(keyId);
    } catch {
      vlog.warn('ignored a malformed message on the revocation channel');
    }
  });
  sub.subscribe(epoch.channel).catch((e: Error) => onRedisError(e, 'subscribe to the revocation channel'));

  // Hits only stamp their entry (no Map write, no clock read): the recorder gathers the
  // stamped entries when it flushes.
  const touched: Entry[] = [];
  const lastUsed = new LastUsedRecorder(
    core.keyRepo, redis, `${config.QUEUE_PREFIX}:last-used-lock`, vlog, opts.touchIntervalMs ?? 60_000,
    (record) => {
      for (const entry of touched) {
        if (entry.usedAt !== 0 && entry.keyId !== undefined) record(entry.keyId, performance.timeOrigin + entry.usedAt);
        entry.usedAt = 0;
      }
      touched.length = 0;
    },
  );

  const hitOn = (entry: Entry, arrival: number): VerifyOutcome => {
    if (entry.keyId !== undefined) {
      if (entry.usedAt === 0) touched.push(entry);
      entry.usedAt = arrival;
    }
    return entry.hit;
  };

  /**
   * MongoDB reads in flight, by cache key, so that concurrent misses of one token (a hot key
   * whose entry just expired, 50 callers at once) make one read, not one each.
   *
   * Joining a read is safe for a request that arrives less than the lease `L` after the read
   * began (or before it began): a revoke that returned before the request arrived committed
   * in MongoDB at least `L` before that (it waits out `L` after committing), so before the
   * read began, which therefore saw it. Later arrivals start a read of their own.
   */
  const flights = new Map<string, Flight>();

  const read = async (token: string, hash: string, flight: Flight): Promise<VerifyOutcome> => {
    const gen = generation;
    // A `valid` is cached stamped with an epoch read before the MongoDB read starts. A stale
    // stamp would be safe but useless (the next hit would miss), so refresh it first if needed.
    let started = performance.now();
    const stamp = cache ? (epoch.peek(started) ?? (await epoch.fresh(started)) ?? epoch.known) : undefined;
    started = flight.readAt = performance.now();
    const result = await core.keys.verify(token);
    const body = toBody(result);
    const answer = outcomeOf(body, 'store');
    const now = performance.now();
    const left = ttl - (now - started);
    if (cache && gen === generation && left >= 1 && (!body.valid || stamp !== undefined)) {
      const entry: Entry = {
        body, hit: { ...answer, source: 'cache' }, usedAt: 0,
        ...endOf(result),
        keyId: body.valid ? body.keyId : undefined,
        epoch: body.valid ? stamp : undefined,
        refreshAt: now + left * REFRESH_AHEAD,
      };
      if (body.valid) {
        cache.set(hash, entry, { ttl: Math.floor(left) });
        byKeyId.set(body.keyId, hash);
      } else {
        // A key just found revoked or expired: its `valid` entry must not shadow the answer.
        cache.delete(hash);
        negative?.set(hash, entry, { ttl: Math.floor(left) });
      }
    }
    if (body.valid) lastUsed.used(body.keyId);
    return answer;
  };

  const load = (token: string, hash: string, arrival: number): Promise<VerifyOutcome> => {
    // With the cache turned off every check reads MongoDB, as configured.
    const joined = cache ? flights.get(hash) : undefined;
    if (joined?.answer && arrival - joined.readAt < epoch.leaseMs) return joined.answer;
    const flight: Flight = { readAt: Number.POSITIVE_INFINITY };
    const answer = read(token, hash, flight).finally(() => {
      if (flights.get(hash) === flight) flights.delete(hash);
    });
    flight.answer = answer;
    if (cache) flights.set(hash, flight);
    return answer;
  };

  /** A hot entry is re-read in the background before it expires, so its callers never wait for MongoDB. */
  const refreshAhead = (token: string, hash: string, entry: Entry, arrival: number) => {
    entry.refreshAt = arrival + 1_000; // at most one attempt a second if MongoDB fails
    if (flights.has(hash)) return;
    load(token, hash, arrival).catch((e: unknown) => vlog.debug({ err: (e as Error).message }, 'background refresh of a cached verification failed'));
  };

  const tokenLength = prefix.length + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH;

  /**
   * Same answers as ever, without an await when the answer is already known. A cache hit
   * skips the full format check: entries exist only for tokens that passed it, and the key
   * is their SHA-256, so a hit is that same token. Everything else is checked in full
   * before any I/O.
   */
  const verifyNow = (token: string, arrival = performance.now(), client?: string): VerifyOutcome | Promise<VerifyOutcome> => {
    if (token.length !== tokenLength) return MALFORMED;
    const hash = cache ? cacheKey(token) : '';
    const hit = cache?.get(hash) ?? negative?.get(hash);
    if (hit) {
      // Negative answers are final (see above): they simply expire.
      if (!hit.body.valid) return hit.hit;
      // A key expires, and a rolled-away secret ends, at an instant, not by invalidation:
      // every entry carries that instant.
      if (hit.endsAt <= clock.now()) return hit.endsWith;
      if (arrival >= hit.refreshAt) refreshAhead(token, hash, hit, arrival);
      const current = epoch.peek(arrival);
      if (current !== undefined) return current === hit.epoch ? hitOn(hit, arrival) : load(token, hash, arrival);
      return epoch.fresh(arrival).then((now) => (now !== undefined && now === hit.epoch ? hitOn(hit, arrival) : load(token, hash, arrival)));
    }
    if (!checkToken(token, prefix).ok) return MALFORMED;
    if (!misses || client === undefined) return load(token, hash, arrival);
    return misses.check(client).then(() => load(token, hash, arrival)).then((outcome) => {
      if (!outcome.body.valid && outcome.body.reason === 'unknown') misses.record(client);
      return outcome;
    });
  };

  return {
    async verify(token) {
      return verifyNow(token);
    },

    verifyNow,

    async redisReachable() {
      try {
        // Just started or reconnecting: give the connection a moment rather than fail at once.
        if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(1_000) });
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await lastUsed.close();
      redis.disconnect();
      sub.disconnect();
    },
  };
}
