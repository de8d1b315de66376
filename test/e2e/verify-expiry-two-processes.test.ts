import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';
import { startTestClock, type TestClock } from '../support/test-clock.js';
import { startReplica, stopReplica, verifyOn, type Replica } from '../support/verify-replica.js';

const admin = { communityId: 'T0TEST', userId: 'UADMIN1' };

let mongo: Mongo;
let core: Core;
let clock: TestClock;
let a: Replica;
let b: Replica;

beforeAll(async () => {
  const dbName = uniqueDbName('verifyexp');
  clock = startTestClock();
  mongo = await connectMongo(mongoUriFor(dbName));
  core = createCore(testConfig({ CLOCK_OFFSET_FILE: clock.file }), captureLogger().log, mongo);
  const env = {
    SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
    MONGODB_URI: mongoUriFor(dbName),
    REDIS_URL: redisUrl(),
    PORT: '0',
    API_PORT: '0',
    ADMIN_SLACK_USER_IDS: 'UADMIN1',
    QUEUE_PREFIX: `kwtest-${randomUUID().slice(0, 8)}`,
    VERIFY_CACHE_TTL_MS: '600000', // long: only the expiry the entries carry may end a cached valid
    CLOCK_OFFSET_FILE: clock.file,
    SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: 'warn',
  };
  [a, b] = await Promise.all([startReplica('A', env), startReplica('B', env)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([stopReplica(a), stopReplica(b)]);
  await mongo?.conn.dropDatabase().catch(() => undefined);
  await mongo?.close();
  clock?.dispose();
});

describe('expiry seen from two processes', () => {
  it('from the expiry instant on, both answer expired — cached or not — with zero stale valid answers', async () => {
    const keys: Array<Awaited<ReturnType<Core['keys']['create']>>> = [];
    for (let i = 0; i < 5; i++) keys.push(await core.keys.create(admin, { name: `expiring ${i}`, description: 'two-process expiry', roles: ['ic_viewer'], expiresInDays: 30 }));
    const expiresAt = Math.max(...keys.map((k) => k.key.expiresAt!.getTime()));
    // Cached as valid on both, a minute before the last expiry instant (time flows on while
    // the machine is busy: a second could pass before the priming ends).
    clock.set(expiresAt - 60_000);
    for (const { token } of keys) for (const r of [a, b]) {
      expect((await verifyOn(r, token)).valid).toBe(true);
      expect((await verifyOn(r, token)).valid).toBe(true);
    }
    clock.set(expiresAt);
    let stale = 0;
    let checked = 0;
    await Promise.all([a, b, a, b].map(async (r) => {
      for (let round = 0; round < 10; round++) {
        for (const { token, key } of keys) {
          const v = await verifyOn(r, token);
          checked++;
          if (v.valid) stale++;
          else expect(v).toEqual({ valid: false, reason: 'expired' });
          expect(key.keyId).toBeDefined();
        }
      }
    }));
    expect(checked).toBe(4 * 10 * 5);
    expect(stale).toBe(0);
  }, 60_000);
});
