import { randomUUID } from 'node:crypto';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import type { Actor } from '../../src/members/member-service.js';
import { MemberDirectory, memberDirectoryRedis } from '../../src/store/member-directory.js';
import { MemberRepository } from '../../src/store/member-repository.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { FakeClock } from '../support/fake-clock.js';
import { startOwnRedis, type OwnRedis } from '../support/processes.js';
import { captureLogger, mongoUriFor, openTestMongo, testConfig } from '../support/services.js';

// Two replicas of the bot, A and B, sharing one database and one Redis (a redis-server of this
// file's own, stopped for real), each with its own member directory. B's database connection
// is watched, so that the tests can tell a membership check served from memory from one that
// read MongoDB.
const T = 'T0MEMDIR';
const admin: Actor = { communityId: T, userId: 'UADMIN1' };
const user = (userId: string): Actor => ({ communityId: T, userId });

let redis: OwnRedis;
let mongoA: Awaited<ReturnType<typeof openTestMongo>>;
let mongoB: Mongo;
let a: Core;
let b: Core;
const logsA = captureLogger('info');
let prefix: string;
/** `find` commands B sent to `members`. */
let memberReadsB = 0;

beforeAll(async () => {
  redis = await startOwnRedis();
  mongoA = await openTestMongo('memberdir');
  mongoB = await connectMongo(mongoUriFor(mongoA.dbName, { monitorCommands: 'true' }));
  mongoB.conn.getClient().on('commandStarted', (e: CommandStartedEvent) => {
    if (e.commandName === 'find' && e.command.find === 'members') memberReadsB++;
  });
  prefix = `kwtest-${randomUUID().slice(0, 8)}`;
  const config = testConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, ADMIN_SLACK_USER_IDS: 'UADMIN1' });
  a = createCore(config, logsA.log, mongoA);
  b = createCore(config, captureLogger('info').log, mongoB);
  await a.members.set(admin, 'UVIEW1', 'viewer');
  await a.members.set(admin, 'UVIEW2', 'viewer');
  await a.members.set(admin, 'UADMIN2', 'admin');
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await mongoB?.close();
  await mongoA?.drop();
  await redis?.dispose();
});

describe('membership checks served from memory', () => {
  it('read the members of a workspace once for many checks, by different users', async () => {
    expect(await b.members.roleOf(user('UVIEW1'))).toBe('viewer');
    const before = memberReadsB;
    for (let i = 0; i < 20; i++) {
      expect(await b.members.roleOf(user('UVIEW1'))).toBe('viewer');
      expect(await b.members.roleOf(user('UVIEW2'))).toBe('viewer');
      expect(await b.members.roleOf(user('UADMIN2'))).toBe('admin');
      expect(await b.members.roleOf(user('UNOBODY'))).toBeUndefined();
    }
    expect(memberReadsB - before).toBe(0);
  });

  it('a member removed on one replica is refused by the other as soon as the removal returns', async () => {
    await a.members.set(admin, 'UGONE', 'viewer');
    expect(await b.members.roleOf(user('UGONE'))).toBe('viewer'); // held by B
    await a.members.remove(admin, 'UGONE');
    await expect(b.keys.list(user('UGONE'))).rejects.toMatchObject({ code: 'forbidden' });
    expect(await b.members.roleOf(user('UGONE'))).toBeUndefined();
  });

  it('an admin demoted on one replica cannot act as an admin on the other', async () => {
    await a.members.set(admin, 'UDEMOTE', 'admin');
    await b.members.requireAdmin(user('UDEMOTE'), 'create API keys'); // held by B as an admin
    await a.members.set(admin, 'UDEMOTE', 'viewer');
    await expect(b.members.requireAdmin(user('UDEMOTE'), 'create API keys')).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('a member added on one replica is let in by the other at once', async () => {
    expect(await b.members.roleOf(user('UNEW'))).toBeUndefined(); // B holds the workspace without them
    await a.members.set(admin, 'UNEW', 'viewer');
    expect((await b.keys.list(user('UNEW'))).viewerRole).toBe('viewer');
  });

  it('with Redis down, checks read MongoDB: a removal made meanwhile is seen at once, and after Redis is back', async () => {
    await a.members.set(admin, 'UOUTAGE', 'viewer');
    expect(await b.members.roleOf(user('UOUTAGE'))).toBe('viewer'); // held by B
    await redis.kill();
    try {
      // Committed; its epoch bump fails (after retries longer than the lease B's epoch read had).
      await a.members.remove(admin, 'UOUTAGE');
      expect(logsA.text()).toMatch(/membership change saved, but not announced on Redis/);
      // B cannot read the epoch, so it does not trust what it holds and reads MongoDB.
      const before = memberReadsB;
      await expect(b.members.requireMember(user('UOUTAGE'), 'list API keys')).rejects.toMatchObject({ code: 'forbidden' });
      expect(memberReadsB - before).toBe(1);
    } finally {
      await redis.start(); // empty: the epoch is gone, and is re-seeded with a new value
    }
    await expect(b.members.requireMember(user('UOUTAGE'), 'list API keys')).rejects.toMatchObject({ code: 'forbidden' });
    expect(await b.members.roleOf(user('UVIEW1'))).toBe('viewer');
  });
});

describe('a change whose announcement was never made', () => {
  it('is served stale for at most maxAgeMs, then read again', async () => {
    const clock = new FakeClock();
    const reader = new MemberRepository(mongoA.models); // writes around the directory: a writer that died before its bump
    const directory = new MemberDirectory(memberDirectoryRedis(redis.url), (c) => reader.ofCommunity(c), captureLogger().log, {
      namespace: `${prefix}:isolated`,
      maxAgeMs: 30_000,
      clock,
    });
    try {
      await reader.insertIfAbsent({ communityId: T, slackUserId: 'USTALE', role: 'admin', addedBy: 'UADMIN1', addedAt: new Date() });
      expect((await directory.find(T, 'USTALE'))?.role).toBe('admin');
      await reader.setRole(T, 'USTALE', 'viewer', undefined, { addedBy: 'UADMIN1', addedAt: new Date() });
      clock.advance(29_000);
      expect((await directory.find(T, 'USTALE'))?.role).toBe('admin'); // the bound, not a wish: held within maxAgeMs
      clock.advance(1_000);
      expect((await directory.find(T, 'USTALE'))?.role).toBe('viewer');
    } finally {
      directory.close();
    }
  });
});
