import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';
import { WITH_START_MS } from '../support/start-timeout.js';
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
  const prefix = `kwtest-${randomUUID().slice(0, 8)}`;
  clock = startTestClock();
  mongo = await connectMongo(mongoUriFor(dbName));
  core = createCore(testConfig({ CLOCK_OFFSET_FILE: clock.file, QUEUE_PREFIX: prefix }), captureLogger().log, mongo);
  const env = {
    SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
    MONGODB_URI: mongoUriFor(dbName),
    REDIS_URL: redisUrl(),
    PORT: '0',
    API_PORT: '0',
    ADMIN_SLACK_USER_IDS: 'UADMIN1',
    QUEUE_PREFIX: prefix,
    VERIFY_CACHE_TTL_MS: '600000', // long: only the expiry the entries carry may end a cached valid
    CLOCK_OFFSET_FILE: clock.file,
    SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: 'warn',
  };
  [a, b] = await Promise.all([startReplica('A', env), startReplica('B', env)]);
}, WITH_START_MS);

afterAll(async () => {
  await Promise.all([stopReplica(a), stopReplica(b)]);
  await core?.close();
  await mongo?.conn.dropDatabase().catch(() => undefined);
  await mongo?.close();
  clock?.dispose();
});

describe('expiry seen from two processes', () => {
  it('from the expiry instant on, both answer expired — cached or not — with zero stale valid answers', async () => {
    const keys: Array<Awaited<ReturnType<Core['keys']['create']>>> = [];
    for (let i = 0; i < 5; i++)
      keys.push(await core.keys.create(admin, { name: `expiring ${i}`, description: 'two-process expiry', roles: ['ic_viewer'], expiresInDays: 30 }));
    const expiresAt = Math.max(...keys.map((k) => k.key.expiresAt!.getTime()));
    // Cached as valid on both, a minute before the last expiry instant (time flows on while
    // the machine is busy: a second could pass before the priming ends).
    clock.set(expiresAt - 60_000);
    for (const { token } of keys)
      for (const r of [a, b]) {
        expect((await verifyOn(r, token)).valid).toBe(true);
        expect((await verifyOn(r, token)).valid).toBe(true);
      }
    clock.set(expiresAt);
    let stale = 0;
    let checked = 0;
    await Promise.all(
      [a, b, a, b].map(async (r) => {
        for (let round = 0; round < 10; round++) {
          for (const { token, key } of keys) {
            const v = await verifyOn(r, token);
            checked++;
            if (v.valid) stale++;
            else expect(v).toEqual({ valid: false, reason: 'expired' });
            expect(key.keyId).toBeDefined();
          }
        }
      }),
    );
    expect(checked).toBe(4 * 10 * 5);
    expect(stale).toBe(0);
  }, 60_000);
});

describe('a roll seen from two processes', () => {
  const create = async (name: string) => core.keys.create(admin, { name, description: 'two-process roll', roles: ['ic_viewer'], expiresInDays: 365 });
  const cacheBoth = async (token: string) => {
    for (const r of [a, b]) for (let i = 0; i < 2; i++) expect((await verifyOn(r, token)).valid).toBe(true);
  };

  it('with 24 hours: both secrets valid (same keyId) during the overlap; after it the old one is rolled, the new one valid', async () => {
    clock.set(Date.now());
    const { key, token: old } = await create('rolled with overlap');
    await cacheBoth(old);
    const { token: fresh, key: rolled, staleUpToMs } = await core.keys.roll(admin, key.keyId, '24h');
    expect(staleUpToMs).toBe(0);
    expect(rolled.keyId).toBe(key.keyId);
    expect(rolled.previousValidUntil!.getTime() - rolled.rolledAt!.getTime()).toBe(24 * 3_600_000);
    for (const r of [a, b]) {
      expect(await verifyOn(r, old)).toMatchObject({ valid: true, keyId: key.keyId });
      expect(await verifyOn(r, fresh)).toMatchObject({ valid: true, keyId: key.keyId });
    }
    clock.set(rolled.previousValidUntil!.getTime());
    for (const r of [a, b]) {
      expect(await verifyOn(r, old)).toEqual({ valid: false, reason: 'rolled' });
      expect(await verifyOn(r, fresh)).toMatchObject({ valid: true, keyId: key.keyId });
    }
  }, 60_000);

  it('with Not at all: the old secret stops at once in every process, cached or not', async () => {
    clock.set(Date.now());
    for (let i = 0; i < 10; i++) {
      const { key, token: old } = await create(`rolled at once ${i}`);
      await cacheBoth(old);
      const { token: fresh } = await core.keys.roll(admin, key.keyId, 'none');
      const answers = await Promise.all([a, b, a, b].map((r) => verifyOn(r, old)));
      expect(answers).toEqual(Array(4).fill({ valid: false, reason: 'rolled' }));
      expect((await verifyOn(i % 2 ? a : b, fresh)).valid).toBe(true);
    }
  }, 60_000);

  it('rolling again during an overlap ends the earlier old secret at once: at most two live secrets', async () => {
    clock.set(Date.now());
    const { key, token: first } = await create('rolled twice');
    await cacheBoth(first);
    const { token: second } = await core.keys.roll(admin, key.keyId, '7d');
    await cacheBoth(second);
    const { token: third } = await core.keys.roll(admin, key.keyId, '24h');
    for (const r of [a, b]) {
      expect(await verifyOn(r, first)).toEqual({ valid: false, reason: 'rolled' });
      expect((await verifyOn(r, second)).valid).toBe(true);
      expect((await verifyOn(r, third)).valid).toBe(true);
    }
    // Revoking revokes every live secret of the key (the retired one may keep saying rolled:
    // a negative answer is final, only its wording could change).
    await core.keys.revoke(admin, key.keyId);
    for (const r of [a, b]) {
      for (const t of [second, third]) expect(await verifyOn(r, t)).toEqual({ valid: false, reason: 'revoked' });
      expect((await verifyOn(r, first)).valid).toBe(false);
    }
  }, 60_000);
});
