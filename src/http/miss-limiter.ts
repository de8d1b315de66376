import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../util/clock.js';
import { HttpError } from './errors.js';

export interface MissLimits {
  /** Misses a client may cause per window. */
  limit: number;
  windowMs: number;
}

/** Clients remembered by one process per window; beyond this the least recent are forgotten. */
const LOCAL_CLIENTS = 100_000;

/**
 * Limits how many "misses" each client may cause: checks answered `unknown` after a MongoDB
 * read (a token with a good checksum that no key has). Those cost a read and are what a
 * flood of forged tokens is made of. `revoked` and `expired` are not counted: only real
 * keys are answered so, each once per cache lifetime, and a service still using a revoked
 * key must keep hearing that it is revoked. Answers from the cache or from the token's
 * shape cost nothing and are never limited.
 *
 * The count lives in Redis, one key per client and fixed window (`INCR`, expiring after the
 * window), so that it holds across replicas: before a read for a client, the shared count is
 * read; at or over the limit, the client gets 429 with `Retry-After` until the window ends
 * (remembered in this process, so a blocked client costs no Redis round trip either). Each
 * process also counts on its own, so the limit still holds per process while Redis is
 * unreachable; Redis errors never refuse a check.
 */
export class MissLimiter {
  private readonly local = new LRUCache<string, { window: number; count: number }>({ max: LOCAL_CLIENTS });

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: MissLimits,
    private readonly clock: Clock,
    /** What is counted: the Redis key's name and the 429's message (the verify API's misses by default). */
    private readonly kind = {
      name: 'verify-misses',
      refusal: (seconds: number) => `Too many checks of keys that are not valid from this client; retry in ${seconds} s.`,
    },
  ) {}

  /** Resolves when `client` may cause a read; rejects with the 429 to answer otherwise. */
  async check(client: string): Promise<void> {
    const now = this.clock.now();
    const window = Math.floor(now / this.limits.windowMs);
    if (this.countHere(client, window) >= this.limits.limit) throw this.tooMany(now, window);
    let shared = 0;
    try {
      shared = Number((await this.redis.get(this.keyOf(client, window))) ?? 0);
    } catch {
      return; // Redis unreachable: this process's own count is the limit meanwhile.
    }
    if (shared >= this.limits.limit) {
      this.local.set(client, { window, count: shared });
      throw this.tooMany(now, window);
    }
  }

  /** Counts one miss of `client`, here and in Redis. */
  record(client: string): void {
    const window = Math.floor(this.clock.now() / this.limits.windowMs);
    const entry = this.local.get(client);
    if (entry && entry.window === window) entry.count++;
    else this.local.set(client, { window, count: 1 });
    const key = this.keyOf(client, window);
    this.redis
      .multi()
      .incr(key)
      .pexpire(key, this.limits.windowMs * 2)
      .exec()
      .then((results) => {
        const shared = Number(results?.[0]?.[1] ?? 0);
        const mine = this.local.get(client);
        // Another replica's misses count too: remember the shared total for this window.
        if (mine && mine.window === window && shared > mine.count) mine.count = shared;
      })
      .catch(() => undefined);
  }

  private countHere(client: string, window: number): number {
    const entry = this.local.get(client);
    return entry && entry.window === window ? entry.count : 0;
  }

  private keyOf(client: string, window: number): string {
    return `${this.prefix}:${this.kind.name}:${window}:${client}`;
  }

  private tooMany(now: number, window: number): HttpError {
    const seconds = Math.max(1, Math.ceil(((window + 1) * this.limits.windowMs - now) / 1000));
    return new HttpError(429, 'rate_limited', this.kind.refusal(seconds), {
      'retry-after': String(seconds),
    });
  }
}

/**
 * Who is asking: the connection's remote address, or, when `header` is configured (behind a
 * proxy you run), the last address in that header, which is the one your proxy added (the
 * ones before it are whatever the client claimed).
 */
export function clientOf(req: IncomingMessage, header: string | undefined): string {
  if (header !== undefined) {
    const value = req.headers[header];
    const last = (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',').pop()?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
