import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import type { KeyRecord, ListPage, ListQuery } from '../../src/keys/key-record.js';
import { decodeCursor } from '../../src/keys/key-record.js';
import { KeyRepository } from '../../src/store/key-repository.js';
import { KeyUsageRepository } from '../../src/store/key-usage-repository.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { OffsetClock } from '../../src/util/clock.js';
import { startOwnRedis, type OwnRedis } from '../support/processes.js';
import { captureLogger, mongoUriFor, openTestMongo, testConfig } from '../support/services.js';

// Two replicas ("processes") of the bot, A and B, sharing one database and one Redis, each
// with its own key directory. Redis is a redis-server of this file's own: it is flushed and
// stopped for real. A third writer, `direct`, is the repository without a directory: a
// writer that died between its database write and its publish.
const T = 'T0KEYDIR';
const admin = { communityId: T, userId: 'UADMIN1' };
const DAY = 86_400_000;

let redis: OwnRedis;
let admin_redis: Redis;
let mongoA: Awaited<ReturnType<typeof openTestMongo>>;
let mongoB: Mongo;
let a: Core;
let b: Core;
let direct: KeyRepository;
const clock = new OffsetClock();
const logsA = captureLogger('info');
const logsB = captureLogger('info');

beforeAll(async () => {
  redis = await startOwnRedis();
  admin_redis = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin_redis.on('error', () => undefined); // Redis is stopped on purpose below
  mongoA = await openTestMongo('keydir');
  mongoB = await connectMongo(mongoUriFor(mongoA.dbName));
  const config = testConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: `kwtest-${randomUUID().slice(0, 8)}` });
  a = createCore(config, logsA.log, mongoA, undefined, clock);
  b = createCore(config, logsB.log, mongoB, undefined, clock);
  direct = new KeyRepository(mongoA.models);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  admin_redis?.disconnect();
  await mongoB?.close();
  await mongoA?.drop();
  await redis?.dispose();
});

let n = 0;
/** A key inserted through a repository (A's or B's publish; `direct` does not). */
async function insert(repo: KeyRepository, over: Partial<KeyRecord> = {}): Promise<KeyRecord> {
  n++;
  return repo.insert({
    communityId: T,
    keyId: `ak_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
    name: `directory key ${n}`,
    description: `A key of the directory tests, number ${n}`,
    roles: ['ic_viewer'],
    hint: 'abcd',
    createdBy: 'UADMIN1',
    createdAt: new Date(clock.now()),
    tokenHash: createHash('sha256').update(randomUUID()).digest('hex'),
    ...over,
  });
}

const query = (over: Partial<ListQuery> = {}): ListQuery => ({ communityId: T, status: 'all', now: new Date(clock.now()), words: [], limit: 10, ...over });
const ids = (p: ListPage) => p.items.map((k) => k.keyId);
const listed = async (core: Core, status: 'active' | 'revoked' | 'all' | 'expired' = 'active') => ids(await core.keys.list(admin, { status }));

describe('two replicas sharing the database and Redis', () => {
  it('a key created, then revoked, through one is listed right by the other at its next list', async () => {
    await listed(b); // B's directory is loaded before A's writes: they reach it through the log
    const { key } = await a.keys.create(admin, { name: 'Made on A', description: 'Created on replica A', roles: ['ic_viewer'] });
    expect(await listed(b)).toContain(key.keyId);
    expect(b.keyDirectory.size().keys).toBeGreaterThan(0);
    await a.keys.revoke(admin, key.keyId);
    expect(await listed(b)).not.toContain(key.keyId);
    expect(await listed(b, 'revoked')).toContain(key.keyId);
    expect((await b.keys.list(admin, { status: 'revoked' })).items.find((k) => k.keyId === key.keyId)).toMatchObject({
      status: 'revoked',
      revokedBy: 'UADMIN1',
    });
    expect(logsB.text()).not.toMatch(/cannot use Redis/);
  });

  it('a flushed Redis makes the other reload: a key its log never carried is listed', async () => {
    await listed(b);
    await admin_redis.flushall();
    const unseen = await insert(direct); // never published: only a reload can show it
    expect(await listed(b)).toContain(unseen.keyId);
    const after = await insert(a.keyRepo); // and the new log is followed from there
    expect(await listed(b)).toContain(after.keyId);
  });

  it('a log trimmed past the reader (a gap in its numbers) makes it reload', async () => {
    await listed(b);
    const first = await insert(a.keyRepo);
    const log = (await admin_redis.keys('*:keydir:*:log'))[0]!;
    await admin_redis.del(log); // what trimming does to entries a slow reader has not read
    const unseen = await insert(direct);
    const last = await insert(a.keyRepo);
    const page = await listed(b);
    expect(page).toEqual(expect.arrayContaining([first.keyId, unseen.keyId, last.keyId]));
  });

  it('a writer that died before publishing: within the age of a directory (5 minutes) the other lists its revoke and its new key', async () => {
    const key = await insert(a.keyRepo);
    expect(await listed(b)).toContain(key.keyId);
    await direct.revoke(T, key.keyId, 'UADMIN1', new Date(clock.now()));
    const hidden = await insert(direct);
    expect(await listed(b)).not.toContain(hidden.keyId); // the staleness the age reload bounds
    clock.advance(6 * 60_000);
    await vi.waitFor(
      async () => {
        const active = await listed(b);
        expect(active).toContain(hidden.keyId);
        expect(active).not.toContain(key.keyId);
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(await listed(b, 'revoked')).toContain(key.keyId);
  });

  it("a roll published by one shows its new hint in the other's list", async () => {
    const { key, token } = await a.keys.create(admin, { name: 'Rolled on A', description: 'Rolled on replica A', roles: ['ic_viewer'] });
    await listed(b);
    const { token: rolled } = await a.keys.roll(admin, key.keyId, 'none');
    const shown = (await b.keys.list(admin, { status: 'active' })).items.find((k) => k.keyId === key.keyId);
    expect(shown?.hint).toBe(rolled.slice(-4));
    expect(shown?.hint).not.toBe(token.slice(-4));
  });
});

// Changes published by the replicas; an unpublished revoke of a key outside the page read
// (a writer that died) is the staleness the age reload bounds, tested above.
describe('lists match the database query, page after page, while the keys change', () => {
  it('forward then backward, every filter, with keys inserted and revoked between pages', async () => {
    const oracle = new KeyRepository(mongoB.models); // no directory: the database query
    for (let i = 0; i < 24; i++) {
      clock.advance(1_000);
      await insert(i % 2 ? a.keyRepo : b.keyRepo, {
        name: i % 3 ? `phishing triage ${i}` : `MISP connector ${i}`,
        createdBy: i % 4 ? 'UADMIN1' : 'UOTHER',
        ...(i % 5 === 1 ? { expiresAt: new Date(clock.now() + DAY) } : {}),
      });
    }
    const queries: Array<Partial<ListQuery>> = [
      { status: 'all' },
      { status: 'active' },
      { status: 'revoked' },
      { status: 'expired' },
      { status: 'all', createdBy: 'UOTHER' },
      { status: 'active', words: ['PHISHING', 'triage'] },
      { status: 'all', words: ['misp'] },
    ];
    const same = async (q: ListQuery) => {
      const [got, want] = await Promise.all([b.keyRepo.list(q), oracle.list(q)]);
      expect({ items: ids(got), next: got.next, prev: got.prev }).toEqual({ items: ids(want), next: want.next, prev: want.prev });
      return got;
    };
    for (const over of queries) {
      let page = await same(query({ ...over, limit: 5 }));
      const seen = [...ids(page)];
      // Between pages: a key inserted on A, one on B's page-to-come revoked on A, time moves (expiries).
      while (page.next) {
        await insert(a.keyRepo);
        const upcoming = await oracle.list(query({ status: 'active', limit: 1, after: decodeCursor(page.next) }));
        if (upcoming.items[0]) await a.keys.revoke(admin, upcoming.items[0].keyId);
        clock.advance(DAY / 4);
        page = await same(query({ ...over, limit: 5, after: decodeCursor(page.next) }));
        expect(ids(page).some((k) => seen.includes(k))).toBe(false); // never a key twice going forward
        seen.push(...ids(page));
      }
      while (page.prev) {
        const first = ids(page)[0];
        if (first) await b.keys.revoke(admin, first).catch(() => undefined); // already revoked: fine
        page = await same(query({ ...over, limit: 5, before: decodeCursor(page.prev) }));
      }
    }
  });
});

describe('Redis down', () => {
  it('lists stay right, read from the database, said once in the log; once Redis is back the directory serves again', async () => {
    await listed(b);
    await redis.kill();
    const started = Date.now();
    const made = await insert(a.keyRepo); // its publish fails: kept for later
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await listed(b)).toContain(made.keyId);
    await a.keys.revoke(admin, made.keyId);
    expect(await listed(b)).not.toContain(made.keyId);
    expect(await listed(b, 'revoked')).toContain(made.keyId);
    expect(b.keyDirectory.size().communities).toBe(0);
    expect(logsB.lines.filter((l) => l.includes('cannot use Redis'))).toHaveLength(1);

    await redis.start(); // empty, as after a restart without its data
    await vi.waitFor(
      async () => {
        expect(await listed(b, 'revoked')).toContain(made.keyId);
        expect(b.keyDirectory.size().communities).toBe(1);
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(logsB.text()).toMatch(/Redis reachable again/);
    const later = await insert(a.keyRepo);
    expect(await listed(b)).toContain(later.keyId);
  });
});

describe('lastUsedAt, read by _id', () => {
  it('usage documents of the older shape (ObjectId _id, unique keyId index) are moved once, keeping the later time, and then listed', async () => {
    const key = await insert(a.keyRepo);
    const coll = mongoA.conn.db!.collection('key_usage');
    await coll.createIndex({ keyId: 1 }, { unique: true, name: 'keyId_1' });
    const older = new Date(clock.now() - DAY);
    await coll.insertOne({ keyId: key.keyId, lastUsedAt: older });
    const fresh = new KeyUsageRepository(mongoA.models); // a process starting on the older data
    await Promise.all([fresh.migrate(), new KeyUsageRepository(mongoA.models).migrate()]); // two at once
    expect(await coll.find({ keyId: key.keyId }).toArray()).toEqual([{ _id: key.keyId, keyId: key.keyId, lastUsedAt: older }]);
    const later = new Date(clock.now());
    await fresh.touchLastUsed(new Map([[key.keyId, later]]));
    await a.keyUsage.touchLastUsed(new Map([[key.keyId, older]])); // never backwards, and told to B through the usage log
    expect(await coll.findOne({ _id: key.keyId as never })).toMatchObject({ lastUsedAt: later });
    const latest = new Date(clock.now() + 1_000);
    await a.keyUsage.touchLastUsed(new Map([[key.keyId, latest]]));
    expect((await b.keys.list(admin, { status: 'active', search: key.keyId })).items[0]).toMatchObject({ keyId: key.keyId, lastUsedAt: latest });
  });
});
