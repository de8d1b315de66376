import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRevocationAnnouncer } from '../../../src/revocation/redis-announcer.js';
import { epochKeys } from '../../../src/revocation/revocation-epoch.js';
import { FakeClock } from '../../support/fake-clock.js';
import { freePort } from '../../support/ports.js';
import { captureLogger, redisUrl } from '../../support/services.js';

const open: Array<{ close(): void }> = [];
afterAll(() => {
  for (const o of open) o.close();
});

const config = (over: Partial<{ REDIS_URL: string; VERIFY_CACHE_TTL_MS: number; VERIFY_CACHE_MAX: number }> = {}) => ({
  REDIS_URL: redisUrl(),
  QUEUE_PREFIX: `test-${randomUUID()}`,
  VERIFY_CACHE_TTL_MS: 30_000,
  VERIFY_CACHE_MAX: 1000,
  ...over,
});

describe('RedisRevocationAnnouncer', () => {
  it('announces by replacing the epoch, and returns only once the lease is over', async () => {
    const clock = new FakeClock();
    const c = config();
    const announcer = new RedisRevocationAnnouncer(c, captureLogger().log, { clock });
    open.push(announcer);
    const redis = new Redis(redisUrl());
    open.push({ close: () => redis.disconnect() });
    const key = epochKeys(c.QUEUE_PREFIX).key;
    const before = await redis.get(key);

    let done = false;
    const announced = announcer.announce('ak_0123456789ab').then(() => {
      done = true;
    });
    await clock.sleeping(2); // the deadline (2 s) and the lease wait (50 + 5 ms)
    expect(clock.sleeps.sort((a, b) => a - b)).toEqual([55, 2_000]);
    expect(await redis.get(key)).not.toBe(before);
    expect(done).toBe(false);
    clock.advance(55);
    await announced;
    expect(clock.sleeps).toEqual([]); // the deadline was cancelled
  });

  it("rejects when Redis cannot be reached, after the epoch's retries, well within its deadline", async () => {
    const clock = new FakeClock();
    const logs = captureLogger();
    const announcer = new RedisRevocationAnnouncer(config({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }), logs.log, { clock });
    open.push(announcer);
    const start = clock.now();
    let failure: Error | undefined;
    const announced = announcer.announce('ak_0123456789ab').catch((e: Error) => {
      failure = e;
    });
    for (const wait of [100, 200, 400]) {
      await clock.sleeping(2);
      expect(clock.sleeps).toContain(wait);
      clock.advance(wait);
    }
    await announced;
    expect(failure?.message).toMatch(/could not announce the revocation on Redis/);
    expect(clock.now() - start).toBe(700);
    expect(logs.text()).toContain('revocation announcer cannot reach Redis');
  });

  it('says how long an unannounced revocation may go on being accepted: the cache TTL, or 0 with no cache', () => {
    const log = captureLogger().log;
    const make = (over: Parameters<typeof config>[0]) => {
      const a = new RedisRevocationAnnouncer(config(over), log);
      open.push(a);
      return a.unannouncedStaleMs;
    };
    expect(make({})).toBe(30_000);
    expect(make({ VERIFY_CACHE_TTL_MS: 600_000 })).toBe(600_000);
    expect(make({ VERIFY_CACHE_TTL_MS: 0 })).toBe(0);
    expect(make({ VERIFY_CACHE_MAX: 0 })).toBe(0);
  });
});
