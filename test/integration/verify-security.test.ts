import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../support/ports.js';
import { json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

const VERIFY_TOKEN = 'verify-token-0123456789abcdef';

let app: VerifyApp;
let token: string;
beforeAll(async () => {
  app = await startVerifyApp({ VERIFY_TOKEN });
  ({ token } = await app.createKey());
});
afterAll(async () => {
  await app?.close();
});

describe('VERIFY_TOKEN bearer', () => {
  it.each([
    ['missing', {}],
    ['empty', { authorization: '' }],
    ['wrong token, same length', { authorization: `Bearer ${'x'.repeat(VERIFY_TOKEN.length)}` }],
    ['a prefix of the token', { authorization: `Bearer ${VERIFY_TOKEN.slice(0, -1)}` }],
    ['the token plus a character', { authorization: `Bearer ${VERIFY_TOKEN}x` }],
    ['another scheme', { authorization: `Basic ${VERIFY_TOKEN}` }],
    ['no scheme', { authorization: VERIFY_TOKEN }],
    ['the API key itself as bearer', { authorization: 'Bearer kw_whatever' }],
  ])('%s → 401, and the body is not read', async (_label, headers) => {
    const res = await app.verify({ key: token }, headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await json(res)).toEqual({ error: { code: 'unauthorized', message: expect.any(String), requestId: expect.any(String) } });
    // Process unharmed.
    expect(await json(await app.verify({ key: token }, { authorization: `Bearer ${VERIFY_TOKEN}` }))).toMatchObject({ valid: true });
  });

  it('the right token → 200 (scheme is case-insensitive)', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await app.verify({ key: token }, { authorization: `${scheme} ${VERIFY_TOKEN}` });
      expect(res.status).toBe(200);
      expect((await json(res)).valid).toBe(true);
    }
  });

  it('a stranger with an oversized body gets 401, not 413: nothing is read before the bearer', async () => {
    const res = await app.verify(JSON.stringify({ key: 'x'.repeat(64 * 1024) }));
    expect(res.status).toBe(401);
  });

  it('health, readiness and metrics do not need the bearer', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await fetch(`${app.base}${path}`)).status).toBe(200);
  });
});

describe('what never leaks', () => {
  it('tokens and the bearer never reach the logs', async () => {
    await app.verify({ key: token }, { authorization: `Bearer ${VERIFY_TOKEN}` });
    await app.verify({ key: token }, { authorization: 'Bearer wrong-bearer-token-value' });
    await app.verify('{"key": broken', { authorization: `Bearer ${VERIFY_TOKEN}` });
    const logs = app.logs.text();
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(VERIFY_TOKEN);
  });

  it('an unexpected error is a 500 in the usual shape, without its message, and is logged with the request id', async () => {
    const spy = vi.spyOn(app.core.keys, 'verify').mockRejectedValueOnce(new Error('secret internals'));
    const fresh = await app.createKey();
    const res = await app.verify({ key: fresh.token }, { authorization: `Bearer ${VERIFY_TOKEN}`, 'x-request-id': 'boom-1' });
    spy.mockRestore();
    expect(res.status).toBe(500);
    expect(await json(res)).toEqual({ error: { code: 'internal', message: 'Internal error.', requestId: 'boom-1' } });
    expect(app.logs.text()).toMatch(/"requestId":"boom-1".*unhandled error/);
    expect(await json(await app.verify({ key: fresh.token }, { authorization: `Bearer ${VERIFY_TOKEN}` }))).toMatchObject({ valid: true });
  });

  it('a hot key is answered without asking the store again', async () => {
    const spy = vi.spyOn(app.core.keys, 'verify');
    await app.verifier.verify(token);
    await app.verifier.verify(token);
    // Cached: the domain (and MongoDB) was not asked again for a hot key.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(1);
    spy.mockRestore();
  });
});

describe('malformed tokens touch neither MongoDB nor Redis', () => {
  it('are answered with MongoDB closed and Redis unreachable', async () => {
    const port = await freePort();
    const cut = await startVerifyApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    const { token: good } = await cut.createKey();
    const repo = vi.spyOn(cut.core.keyRepo, 'findBySecret');
    await cut.mongo.conn.close();
    try {
      for (const key of ['hello', '', good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A'), `${good}x`]) {
        const started = performance.now();
        const res = await cut.verify({ key });
        expect(res.status).toBe(200);
        expect(await json(res)).toEqual({ valid: false, reason: 'malformed' });
        expect(performance.now() - started).toBeLessThan(200);
      }
      expect(repo).not.toHaveBeenCalled();
    } finally {
      await cut.http.close();
      await cut.verifier.close();
      await app.mongo.conn.useDb(cut.mongo.dbName).dropDatabase();
    }
  });
});
