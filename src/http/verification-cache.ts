import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifyResult } from '../keys/key-service.js';
import type { VerifyResponse } from './schemas.js';

/** Where an answer came from: the token's shape, this process's cache, or MongoDB. */
export type VerifySource = 'format' | 'cache' | 'store';

/** One answer of the verify API, serialised once (per cache entry, not per hit). */
export interface VerifyOutcome {
  readonly body: VerifyResponse;
  /** `body` as JSON. */
  readonly json: string;
  /** UTF-8 length of `json`, as text (its Content-Length). */
  readonly length: string;
  readonly source: VerifySource;
}

export function outcomeOf(body: VerifyResponse, source: VerifySource): VerifyOutcome {
  const json = JSON.stringify(body);
  return { body, json, length: String(Buffer.byteLength(json)), source };
}

export const MALFORMED = outcomeOf({ valid: false, reason: 'malformed' }, 'format');
const EXPIRED = outcomeOf({ valid: false, reason: 'expired' }, 'cache');
const ROLLED = outcomeOf({ valid: false, reason: 'rolled' }, 'cache');

/** A cached answer. */
export class CacheEntry {
  /** performance.now() of the latest hit not yet handed to the lastUsedAt recorder; 0 when none is. */
  usedAt = 0;

  constructor(
    /** What a hit returns. */
    readonly hit: VerifyOutcome,
    /** The key, for keyId → entry invalidation and lastUsedAt (absent when not `valid`). */
    readonly keyId: string | undefined,
    /** Revocation epoch known before the MongoDB read that produced a `valid` answer. */
    readonly epoch: string | undefined,
    /**
     * When a `valid` answer ends (ms since the epoch, the domain clock): the key's expiry, or
     * the end of a rolled-away secret's overlap; Infinity: never. Answered by `endsWith` after.
     */
    readonly endsAt: number,
    readonly endsWith: VerifyOutcome,
    /** performance.now() after which a hit starts a background re-read (see REFRESH_AHEAD). */
    public refreshAt: number,
    /**
     * performance.now() at which the entry is gone (its lifetime, VERIFY_CACHE_TTL_MS, ends).
     * Kept here rather than as lru-cache's `ttl`, whose get() reads the clock and arms a
     * timer of its own: a hit already knows its arrival time.
     */
    readonly goneAt: number,
  ) {}

  get valid(): boolean {
    return this.hit.body.valid;
  }
}

/** A MongoDB read in flight: when it began (Infinity until it does) and its answer. */
export interface Flight {
  readAt: number;
  answer?: Promise<VerifyOutcome>;
}

/** Share of an entry's lifetime after which a hit re-reads it in the background. */
const REFRESH_AHEAD = 0.8;

export interface CacheLimits {
  /** Entries of `valid` answers (VERIFY_CACHE_MAX). */
  max: number;
  /** Entries of every other answer (VERIFY_NEGATIVE_CACHE_MAX); 0: not cached. */
  negativeMax: number;
  /** Lifetime of an entry, ms (VERIFY_CACHE_TTL_MS). */
  ttlMs: number;
}

/**
 * The verification cache of one process: two bounded LRUs keyed by the token's hash (never
 * the token), the MongoDB reads in flight, and the uses not yet recorded as lastUsedAt.
 *
 * Negative answers are safe to cache: tokens carry ≥160 random bits and a token exists only
 * once its key is stored (the creator learns it after the insert), so a token answered
 * `unknown` cannot later become a key; and `revoked` is final. They live in an LRU of their
 * own: anyone can mint tokens with a good checksum, and in a shared LRU a stream of them
 * would evict the hot `valid` entries.
 */
export class VerificationCache {
  private readonly valid: LRUCache<string, CacheEntry>;
  private readonly negative: LRUCache<string, CacheEntry> | undefined;
  private readonly byKeyId = new Map<string, string>();
  private readonly flights = new Map<string, Flight>();
  /** Entries hit since the last drainUses(): hits only stamp their entry. */
  private readonly used: CacheEntry[] = [];
  /** Bumped by every revocation heard of: MongoDB reads in flight across one are not cached. */
  private generation = 0;

  constructor(private readonly limits: CacheLimits) {
    this.valid = new LRUCache({
      max: limits.max,
      dispose: (entry, key) => {
        if (entry.keyId !== undefined && this.byKeyId.get(entry.keyId) === key) this.byKeyId.delete(entry.keyId);
      },
    });
    this.negative = limits.negativeMax > 0 ? new LRUCache({ max: limits.negativeMax }) : undefined;
  }

  /**
   * The cache key: SHA-256 of the token as a 32-character latin1 string (cheaper to make and
   * to hash into a Map than 64 hex digits). The cache lives in this process only, so it needs
   * no pepper.
   */
  static keyOf(token: string): string {
    return hash('sha256', token, 'binary');
  }

  /** The entry of `key` still alive at `now` (performance.now()); an entry past its lifetime is dropped. */
  lookup(key: string, now: number): CacheEntry | undefined {
    const entry = this.valid.get(key) ?? this.negative?.get(key);
    if (entry === undefined || now < entry.goneAt) return entry;
    if (entry.valid) this.valid.delete(key);
    else this.negative?.delete(key);
    return undefined;
  }

  /** Records a hit at `at` (performance.now()) for lastUsedAt and returns its answer. */
  hit(entry: CacheEntry, at: number): VerifyOutcome {
    if (entry.keyId !== undefined) {
      if (entry.usedAt === 0) this.used.push(entry);
      entry.usedAt = at;
    }
    return entry.hit;
  }

  /** Hands every use recorded since the last call to `record` (keyId, ms since the epoch). */
  drainUses(record: (keyId: string, at: number) => void, timeOrigin: number): void {
    for (const entry of this.used) {
      if (entry.usedAt !== 0 && entry.keyId !== undefined) record(entry.keyId, timeOrigin + entry.usedAt);
      entry.usedAt = 0;
    }
    this.used.length = 0;
  }

  /** A revocation of `keyId` was heard of: its entry goes, and reads in flight are not cached. */
  forgetKey(keyId: string): void {
    this.generation++;
    const key = this.byKeyId.get(keyId);
    if (key !== undefined) this.valid.delete(key);
  }

  /** Taken before a MongoDB read; remember() caches its answer only if no revocation came between. */
  get revision(): number {
    return this.generation;
  }

  /**
   * Caches the answer of a MongoDB read that began at `startedAt` (performance.now()), if no
   * revocation was heard of since `revision` and some of the entry's lifetime is left. A
   * `valid` needs the epoch stamp read before the read began.
   */
  remember(key: string, result: VerifyResult, answer: VerifyOutcome, r: { revision: number; epoch: string | undefined; startedAt: number; now: number }): void {
    const left = this.limits.ttlMs - (r.now - r.startedAt);
    if (r.revision !== this.generation || left < 1) return;
    const { body } = answer;
    if (body.valid && r.epoch === undefined) return;
    const ends = endOf(result);
    const hit: VerifyOutcome = { ...answer, source: 'cache' };
    const entry = new CacheEntry(
      hit,
      body.valid ? body.keyId : undefined,
      body.valid ? r.epoch : undefined,
      ends.at,
      ends.with,
      r.now + left * REFRESH_AHEAD,
      r.now + left,
    );
    if (body.valid) {
      this.valid.set(key, entry);
      this.byKeyId.set(body.keyId, key);
    } else {
      // A key just found revoked or expired: its `valid` entry must not shadow the answer.
      this.valid.delete(key);
      this.negative?.set(key, entry);
    }
  }

  /**
   * The read of `key` already in flight that a request arriving at `arrival` may share: one
   * that began less than `leaseMs` before it (or has not begun). A revoke that returned
   * before the request arrived committed at least the lease before that (it waits out the
   * lease after committing), so before such a read began, which therefore saw it.
   */
  sharedRead(key: string, arrival: number, leaseMs: number): Promise<VerifyOutcome> | undefined {
    const flight = this.flights.get(key);
    return flight?.answer && arrival - flight.readAt < leaseMs ? flight.answer : undefined;
  }

  isReading(key: string): boolean {
    return this.flights.has(key);
  }

  /** Registers a read in flight until its answer settles. */
  track(key: string, flight: Flight, answer: Promise<VerifyOutcome>): void {
    flight.answer = answer;
    this.flights.set(key, flight);
    const untrack = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    answer.then(untrack, untrack);
  }
}

/** When a valid answer ends, and what it becomes: the earlier of the key's expiry and the secret's overlap end. */
function endOf(r: VerifyResult): { at: number; with: VerifyOutcome } {
  if (!r.valid) return { at: Number.POSITIVE_INFINITY, with: EXPIRED };
  const expiry = r.key.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const until = r.validUntil?.getTime() ?? Number.POSITIVE_INFINITY;
  return until < expiry ? { at: until, with: ROLLED } : { at: expiry, with: EXPIRED };
}
