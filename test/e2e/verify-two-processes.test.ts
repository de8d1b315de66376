import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';
import { WITH_START_MS } from '../support/start-timeout.js';
import { startReplica, type Replica } from '../support/verify-replica.js';

const admin = { communityId: 'T0TEST', userId: 'UADMIN1' };

type Verdict = { valid: boolean; reason?: string };
const verify = async (r: Replica, key: string): Promise<Verdict> => {
  const res = await fetch(`${r.base}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  expect(res.status).toBe(200);
  return (await res.json()) as Verdict;
};
const revokeVia = async (r: Replica, keyId: string) => {
  const res = await fetch(`${r.base}/test/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keyId }) });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ changed: true, staleUpToMs: 0 });
};
const cacheHits = async (r: Replica) => {
  const text = await (await fetch(`${r.base}/metrics`)).text();
  return Number(/keywarden_verify_requests_total\{result="valid",source="cache"\} (\d+)/.exec(text)?.[1] ?? 0);
};

let mongo: Mongo;
let core: Core;
let a: Replica;
let b: Replica;
let dbName: string;

beforeAll(async () => {
  dbName = uniqueDbName('twoproc');
  mongo = await connectMongo(mongoUriFor(dbName));
  core = createCore(testConfig(), captureLogger().log, mongo);
  const env = {
    SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
    MONGODB_URI: mongoUriFor(dbName),
    REDIS_URL: redisUrl(),
    API_PORT: '0',
    ADMIN_SLACK_USER_IDS: 'UADMIN1',
    QUEUE_PREFIX: `kwtest-${randomUUID().slice(0, 8)}`,
    VERIFY_CACHE_TTL_MS: '600000', // long: only invalidation may make them forget a key
    SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: 'warn',
  };
  [a, b] = await Promise.all([startReplica('A', env), startReplica('B', env)]);
}, WITH_START_MS);

afterAll(async () => {
  for (const r of [a, b]) {
    if (r?.child.exitCode === null) {
      const exited = once(r.child, 'exit');
      r.child.kill('SIGTERM');
      const kill = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    }
  }
  await mongo?.conn.dropDatabase().catch(() => undefined);
  await mongo?.close();
});

describe('two processes sharing MongoDB and Redis', () => {
  it('once a revoke returns, neither answers valid: 100 keys, both directions, zero stale', async () => {
    const hitsBefore = (await cacheHits(a)) + (await cacheHits(b));
    const stale: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { key, token } = await core.keys.create(admin, { name: `key ${i}`, description: 'two-process revocation', roles: ['ic_viewer'] });
      // Cached on both: the second verify of each is a cache hit.
      for (const r of [a, b]) {
        expect((await verify(r, token)).valid).toBe(true);
        expect((await verify(r, token)).valid).toBe(true);
      }
      const [revoker, other] = i % 2 === 0 ? [a, b] : [b, a];
      await revokeVia(revoker, key.keyId);
      const [onOther, onRevoker] = await Promise.all([verify(other, token), verify(revoker, token)]);
      if (onOther.valid) stale.push(`${key.keyId} on ${other.name}`);
      if (onRevoker.valid) stale.push(`${key.keyId} on ${revoker.name}`);
      expect(onOther).toEqual({ valid: false, reason: 'revoked' });
      expect(onRevoker).toEqual({ valid: false, reason: 'revoked' });
    }
    expect(stale).toEqual([]);
    expect((await cacheHits(a)) + (await cacheHits(b)) - hitsBefore).toBeGreaterThanOrEqual(200);
  }, 120_000);

  it('under concurrent load, no verify that starts after the revoke returned says valid', async () => {
    let stale = 0;
    let checked = 0;
    for (let i = 0; i < 30; i++) {
      const { key, token } = await core.keys.create(admin, { name: `load ${i}`, description: 'two-process revocation', roles: ['ic_viewer'] });
      for (const r of [a, b]) await verify(r, token);
      let revokedAt = Number.POSITIVE_INFINITY;
      // Four callers per replica verify in a loop while the revoke runs, each until it has
      // made two checks that started after the revoke returned (however slow the machine).
      const hammer = [a, b, a, b, a, b, a, b].map(async (r) => {
        let after = 0;
        while (after < 2) {
          const started = performance.now();
          const v = await verify(r, token);
          if (started > revokedAt) {
            after++;
            checked++;
            if (v.valid) stale++;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 5));
      await revokeVia(i % 2 ? a : b, key.keyId);
      revokedAt = performance.now();
      await Promise.all(hammer);
    }
    expect(checked).toBe(30 * 8 * 2);
    expect(stale).toBe(0);
  }, 120_000);
});
