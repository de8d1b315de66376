import { Redis } from 'ioredis';
import type { Config } from '../config/env.js';
import type { RevocationAnnouncer } from '../keys/revocation-announcer.js';
import type { Logger } from '../log.js';
import { failFastRedis } from '../util/fail-fast-redis.js';
import { systemMonotonicClock, type MonotonicClock } from '../util/monotonic-clock.js';
import { DEFAULT_LEASE_MS, epochKeys, RevocationEpoch } from './revocation-epoch.js';

export interface RedisAnnouncerOptions {
  /** Freshness lease of the epoch, ms (must match the verifiers'). Default 50. */
  leaseMs?: number;
  /** How long one announce may take before it is given up (left pending), ms. Default 2 000. */
  timeoutMs?: number;
  clock?: MonotonicClock;
}

/**
 * Announces revocations by bumping the revocation epoch in Redis (see RevocationEpoch).
 * Its connection is opened on first use, so a process that never revokes never connects,
 * and fails fast while Redis is down: an announce gives up within `timeoutMs` and the
 * caller keeps it pending.
 */
export class RedisRevocationAnnouncer implements RevocationAnnouncer {
  readonly unannouncedStaleMs: number;
  private readonly redis: Redis;
  private readonly epoch: RevocationEpoch;
  private readonly timeoutMs: number;
  private readonly clock: MonotonicClock;
  private lastErrorLog = Number.NEGATIVE_INFINITY;

  constructor(config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX' | 'VERIFY_CACHE_TTL_MS' | 'VERIFY_CACHE_MAX'>, log: Logger, opts: RedisAnnouncerOptions = {}) {
    this.clock = opts.clock ?? systemMonotonicClock;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.unannouncedStaleMs = config.VERIFY_CACHE_MAX > 0 ? config.VERIFY_CACHE_TTL_MS : 0;
    this.redis = failFastRedis(config.REDIS_URL, 'keywarden-announcer');
    this.redis.on('error', (e: Error) => {
      // Reconnect errors repeat while Redis is down: one line per 10 s.
      if (Date.now() - this.lastErrorLog < 10_000) return;
      this.lastErrorLog = Date.now();
      log.warn({ err: e.message }, 'revocation announcer cannot reach Redis');
    });
    const { key, channel } = epochKeys(config.QUEUE_PREFIX);
    this.epoch = new RevocationEpoch(this.redis, key, channel, opts.leaseMs ?? DEFAULT_LEASE_MS, 5, undefined, this.clock);
  }

  announce(keyId: string): Promise<void> {
    return this.announceMany([keyId]);
  }

  /** Announces several revocations with one epoch bump (and one wait for the lease). */
  async announceMany(keyIds: readonly string[]): Promise<void> {
    const work = (async () => {
      if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
      await this.epoch.bump(keyIds);
    })();
    // A bump still running after the deadline may yet succeed: harmless (one more epoch).
    work.catch(() => undefined);
    const stop = new AbortController();
    const late = this.clock.sleep(this.timeoutMs, stop.signal).then(
      () => {
        throw new Error(`announcing the revocation took more than ${this.timeoutMs} ms`);
      },
      () => undefined,
    );
    try {
      await Promise.race([work, late]);
    } finally {
      stop.abort();
    }
  }

  close(): void {
    this.redis.disconnect();
  }
}
