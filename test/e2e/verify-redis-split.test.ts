import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { freePort } from '../support/ports.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';
import { WITH_START_MS } from '../support/start-timeout.js';
import { startReplica, stopReplica, verifyOn, type Replica } from '../support/verify-replica.js';

// Issue: bot A cannot reach Redis, bot B can and has the key cached; an admin revokes
// through A. Two real processes; A reaches the shared Redis only through a TCP proxy that
// the test cuts and restores (B's connection is never touched).

const admin = { communityId: 'T0TEST', userId: 'UADMIN1' };
const TTL_MS = 600_000; // long: only an announcement can make B forget the key in this test

/** A TCP proxy to the shared Redis that can be cut (connections reset, port closed) and restored. */
async function redisProxy(): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const upstream = new URL(redisUrl());
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const up = connect(Number(upstream.port || 6379), upstream.hostname);
        for (const s of [client, up]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            up.destroy();
          });
        }
        client.pipe(up).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise((r) => s.close(r));
  };
  await listen();
  return { url: `redis://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

let mongo: Mongo;
let core: Core;
let a: Replica;
let b: Replica;
let proxy: Awaited<ReturnType<typeof redisProxy>>;

beforeAll(async () => {
  const dbName = uniqueDbName('redissplit');
  mongo = await connectMongo(mongoUriFor(dbName));
  core = createCore(testConfig(), captureLogger().log, mongo);
  proxy = await redisProxy();
  const env = {
    SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
    MONGODB_URI: mongoUriFor(dbName),
    API_PORT: '0',
    ADMIN_SLACK_USER_IDS: 'UADMIN1',
    QUEUE_PREFIX: `kwtest-${randomUUID().slice(0, 8)}`,
    VERIFY_CACHE_TTL_MS: String(TTL_MS),
    SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: 'error',
  };
  [a, b] = await Promise.all([startReplica('A', { ...env, REDIS_URL: proxy.url }), startReplica('B', { ...env, REDIS_URL: redisUrl() })]);
}, WITH_START_MS);

afterAll(async () => {
  await Promise.all([stopReplica(a), stopReplica(b)]);
  await proxy?.close();
  await core?.close();
  await mongo?.conn.dropDatabase().catch(() => undefined);
  await mongo?.close();
});

describe('a revoke through a bot that cannot reach Redis', () => {
  it('says how long other bots may accept the key, and makes them stop as soon as Redis is reachable again', async () => {
    const { key, token } = await core.keys.create(admin, { name: 'Split brain', description: 'Revoked through a bot without Redis', roles: ['ic_viewer'] });
    for (const r of [a, b, a, b]) expect((await verifyOn(r, token)).valid).toBe(true); // cached on both

    await proxy.cut();
    const res = await fetch(`${a.base}/test/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keyId: key.keyId }),
    });
    expect(res.status).toBe(200);
    // Not "It no longer works": B may still say valid from its cache, and A says for how long.
    expect(await res.json()).toEqual({ changed: true, staleUpToMs: TTL_MS });
    expect((await core.keyRepo.findByKeyId(key.keyId))?.announce?.state).toBe('pending');
    expect(await verifyOn(a, token)).toEqual({ valid: false, reason: 'revoked' }); // A has no Redis: it reads MongoDB
    expect((await verifyOn(b, token)).valid).toBe(true); // the window the reply warned of

    // A's Redis comes back: A's retry announces, and B stops within seconds, not the TTL.
    await proxy.restore();
    const back = Date.now();
    await expect.poll(() => verifyOn(b, token), { timeout: 15_000, interval: 100 }).toEqual({ valid: false, reason: 'revoked' });
    expect(Date.now() - back).toBeLessThan(15_000);
    await expect.poll(async () => (await core.keyRepo.findByKeyId(key.keyId))?.announce?.state, { timeout: 5_000 }).toBe('done');
  }, 60_000);
});
