import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { jobDeps } from '../../jobs/context.js';
import { openQueues, redisConnection } from '../../jobs/queues.js';
import { sweep } from '../../jobs/sweeper.js';
import { createCore } from '../../src/core.js';
import { epochKeys } from '../../src/revocation/revocation-epoch.js';
import { revokedReply } from '../../src/slack/blocks/messages.js';
import { startOwnRedis, type OwnRedis } from '../support/processes.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';
import { admin, json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('announcing revocations', () => {
  it('a process that revokes without building a verifier (a script) still tells every verifier', async () => {
    const app: VerifyApp = await startVerifyApp({ VERIFY_CACHE_TTL_MS: '600000' });
    cleanups.push(() => app.close());
    const { keyId, token } = await app.createKey();
    for (let i = 0; i < 2; i++) expect((await json(await app.verify({ key: token }))).valid).toBe(true); // cached for 10 min

    // A script: the domain on the same MongoDB and Redis, no verifier, no HTTP, no workers.
    const script = createCore(app.core.config, captureLogger().log, app.mongo);
    cleanups.push(() => script.close());
    const result = await script.keys.revoke(admin, keyId);
    expect(result).toMatchObject({ changed: true, staleUpToMs: 0 });
    expect(await json(await app.verify({ key: token }))).toEqual({ valid: false, reason: 'revoked' });
    expect(result.key.announce?.state).toBe('pending'); // as written with the revocation...
    expect((await script.keyRepo.findByKeyId(keyId))?.announce?.state).toBe('done'); // ...then made
  });

  it('with Redis unreachable the revoke says for how long other servers may still accept the key, and the sweeper tells them once Redis is back', async () => {
    const redis: OwnRedis = await startOwnRedis();
    cleanups.push(() => redis.dispose());
    const mongo = await openTestMongo('announce');
    cleanups.push(() => mongo.drop());
    const config = testConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: `test-announce-${Date.now()}`, SWEEP_GRACE_MS: '0' });
    const logs = captureLogger();
    const bot = createCore(config, logs.log, mongo);
    const { key } = await bot.keys.create(admin, { name: 'Announce me', description: 'Redis goes away at revoke time', roles: ['ic_viewer'] });

    await redis.kill();
    const started = Date.now();
    const result = await bot.keys.revoke(admin, key.keyId);
    expect(Date.now() - started).toBeLessThan(5_000); // bounded: the admin is not kept waiting
    expect(result.changed).toBe(true);
    expect(result.key.status).toBe('revoked'); // the revocation itself holds
    expect(result.staleUpToMs).toBe(30_000); // VERIFY_CACHE_TTL_MS: what other servers may still do
    expect((await bot.keyRepo.findByKeyId(key.keyId))?.announce?.state).toBe('pending');
    expect(logs.text()).toContain('could not tell the verifiers of a revocation');

    // What the admin is told: never "It no longer works" while that is not yet true.
    const reply = revokedReply(result.key, result.changed, result.staleUpToMs);
    const shown = JSON.stringify(reply.blocks);
    expect(shown).toContain('Other servers may accept it for up to 30 s more: their caches could not be told (retrying).');
    expect(shown).not.toContain('no longer works');
    expect(reply.text).toBe(`Revoked ${key.keyId}; other servers may accept it for up to 30 s more`);
    // A second click, still unannounced, says so too.
    const again = await bot.keys.revoke(admin, key.keyId);
    expect(again).toMatchObject({ changed: false, staleUpToMs: 30_000 });
    expect(JSON.stringify(revokedReply(again.key, again.changed, again.staleUpToMs).blocks)).toContain('Other servers may accept it for up to 30 s more');
    await bot.close(); // the bot goes away too: only the sweeper is left to announce

    await redis.start();
    const watcher = new Redis(redis.url);
    cleanups.push(() => watcher.disconnect());
    expect(await watcher.get(epochKeys(config.QUEUE_PREFIX).key)).toBeNull(); // nobody announced yet

    const worker = createCore(config, logs.log, mongo);
    cleanups.push(() => worker.close());
    const connection = redisConnection(config, logs.log, 'worker');
    const queues = openQueues(config, connection, logs.log);
    cleanups.push(async () => {
      await Promise.all([queues.revocations.close(), queues.webhooks.close()]);
      connection.disconnect();
    });
    const report = await sweep(jobDeps(worker, queues));
    expect(report).toMatchObject({ announced: 1, announceFailed: 0 });
    expect(await watcher.get(epochKeys(config.QUEUE_PREFIX).key)).toMatch(/^[0-9a-f-]{36}$/);
    expect((await worker.keyRepo.findByKeyId(key.keyId))?.announce?.state).toBe('done');
    // Announced: a revoke call now promises all of it.
    expect(await worker.keys.revoke(admin, key.keyId)).toMatchObject({ changed: false, staleUpToMs: 0 });
    expect((await sweep(jobDeps(worker, queues))).announced).toBe(0);
  });
});
