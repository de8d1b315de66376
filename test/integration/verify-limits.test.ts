import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.js';
import { freePort } from '../support/ports.js';
import { json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

/** Counts the MongoDB reads of api_keys made through the app's own connection. */
function countKeyReads(app: VerifyApp): () => number {
  let reads = 0;
  app.mongo.conn.getClient().on('commandStarted', (e: CommandStartedEvent) => {
    if (e.commandName === 'find' && (e.command as { find?: string }).find === 'api_keys') reads++;
  });
  return () => reads;
}

/** A token with a good checksum that no key has: what anyone can mint by the million. */
const forged = () => generateToken('kw');

describe('answers that are not valid have a cache of their own', () => {
  let app: VerifyApp;
  let reads: () => number;
  beforeAll(async () => {
    // Small caches, so that a few hundred forged tokens are a flood.
    app = await startVerifyApp({ VERIFY_CACHE_MAX: '50', VERIFY_NEGATIVE_CACHE_MAX: '50', VERIFY_MISS_LIMIT: '0' }, {}, { monitorCommands: 'true' });
    reads = countKeyReads(app);
  });
  afterAll(() => app.close());

  it('500 forged tokens do not evict a hot valid key: it is still answered without a MongoDB read', async () => {
    const { token, keyId } = await app.createKey();
    expect(await json(await app.verify({ key: token }))).toMatchObject({ valid: true, keyId });
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => app.verify({ key: forged() }).then(json)));
      expect(answers).toEqual(Array(50).fill({ valid: false, reason: 'unknown' }));
    }
    const before = reads();
    for (let i = 0; i < 10; i++) expect(await json(await app.verify({ key: token }))).toMatchObject({ valid: true, keyId });
    expect(reads() - before).toBe(0);
  });

  it('a forged token asked again is answered from the negative cache', async () => {
    const token = forged();
    expect((await app.verifier.verify(token)).source).toBe('store');
    const before = reads();
    expect(await app.verifier.verify(token)).toMatchObject({ body: { valid: false, reason: 'unknown' }, source: 'cache' });
    expect(reads() - before).toBe(0);
  });
});

describe('misses are rate limited per client, across replicas sharing Redis', () => {
  const WINDOW = 60_000;
  let a: VerifyApp;
  let b: VerifyApp;
  let clockFile = '';
  /** Puts the shared clock `ms` into a fresh window, so that no window ends mid-test by itself. */
  const startWindow = (extraWindows = 0) => {
    const now = Date.now();
    const target = (Math.floor(now / WINDOW) + 1 + extraWindows) * WINDOW + 1_000;
    writeFileSync(clockFile, String(target - now));
  };
  const from = (ip: string) => ({ 'x-forwarded-for': `198.51.100.1, ${ip}` });

  beforeAll(async () => {
    clockFile = join(mkdtempSync(join(tmpdir(), 'kw-clock-')), 'offset');
    startWindow();
    const env = {
      QUEUE_PREFIX: `kwtest-${randomUUID().slice(0, 8)}`,
      VERIFY_MISS_LIMIT: '5',
      VERIFY_MISS_WINDOW_MS: String(WINDOW),
      VERIFY_CLIENT_IP_HEADER: 'X-Forwarded-For',
      CLOCK_OFFSET_FILE: clockFile,
    };
    [a, b] = await Promise.all([startVerifyApp(env), startVerifyApp(env)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('5 misses on one replica, then the client is refused with 429 and Retry-After on the other too', async () => {
    const { token, keyId } = await a.createKey();
    expect(await json(await a.verify({ key: token }, from('203.0.113.7')))).toMatchObject({ valid: true });
    for (let i = 0; i < 5; i++) {
      const res = await a.verify({ key: forged() }, from('203.0.113.7'));
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ valid: false, reason: 'unknown' });
    }

    // Only Redis can tell B: it has seen no miss from this client itself.
    const refused = await b.verify({ key: forged() }, from('203.0.113.7'));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await json(refused)).error).toEqual({ code: 'rate_limited', message: expect.stringContaining('retry in'), requestId: expect.any(String) });
    expect((await a.verify({ key: forged() }, from('203.0.113.7'))).status).toBe(429);

    // What costs nothing is still answered: the cached valid key, a malformed token.
    expect(await json(await a.verify({ key: token }, from('203.0.113.7')))).toMatchObject({ valid: true, keyId });
    expect(await json(await a.verify({ key: 'kw_nope' }, from('203.0.113.7')))).toEqual({ valid: false, reason: 'malformed' });

    // Another client is not limited; the spoofable first address in the header is ignored.
    expect((await b.verify({ key: forged() }, from('203.0.113.8'))).status).toBe(200);
    expect((await b.verify({ key: forged() }, { 'x-forwarded-for': '203.0.113.8, 203.0.113.7' })).status).toBe(429);
  });

  it('the next window lets the client in again', async () => {
    startWindow(1);
    expect((await a.verify({ key: forged() }, from('203.0.113.7'))).status).toBe(200);
    expect((await b.verify({ key: forged() }, from('203.0.113.7'))).status).toBe(200);
  });
});

describe('with Redis unreachable', () => {
  it('each replica still holds the limit on its own count', async () => {
    const app = await startVerifyApp({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, VERIFY_MISS_LIMIT: '3' });
    try {
      for (let i = 0; i < 3; i++) expect(await json(await app.verify({ key: forged() }))).toEqual({ valid: false, reason: 'unknown' });
      const refused = await app.verify({ key: forged() });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
    }
  });
});
