import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { admin, json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

let app: VerifyApp;
beforeAll(async () => {
  app = await startVerifyApp({}, { touchIntervalMs: 100 });
});
afterAll(async () => {
  await app?.close();
});

describe('POST /v1/keys/verify: a good key', () => {
  it('is valid with its roles, name and community', async () => {
    const { keyId, token } = await app.createKey({ name: 'CTI connector', roles: ['cti_connector', 'ic_viewer'] });
    const res = await app.verify({ key: token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await json(res)).toEqual({ valid: true, keyId, name: 'CTI connector', roles: ['cti_connector', 'ic_viewer'], communityId: 'T0TEST' });
  });

  it('answers a hot key from the cache, with the same body', async () => {
    const { token } = await app.createKey();
    const first = await app.verifier.verify(token);
    const second = await app.verifier.verify(token);
    expect(first.source).toBe('store');
    expect(second.source).toBe('cache');
    expect(second.body).toEqual(first.body);
  });

  it('says revoked once the key is revoked, even if it was cached', async () => {
    const { keyId, token } = await app.createKey();
    expect((await json(await app.verify({ key: token }))).valid).toBe(true);
    expect((await app.verifier.verify(token)).source).toBe('cache');
    await app.core.keys.revoke(admin, keyId);
    const res = await app.verify({ key: token });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ valid: false, reason: 'revoked' });
  });

  it('a MongoDB read that started before a revoke and ends after it does not cache a stale valid', async () => {
    const { keyId, token } = await app.createKey();
    const stale = await app.core.keys.verify(token); // what a read that began before the revoke saw
    expect(stale.valid).toBe(true);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const spy = vi.spyOn(app.core.keys, 'verify').mockImplementationOnce(async () => {
      await gate;
      return stale;
    });
    const inFlight = app.verifier.verify(token);
    await new Promise((r) => setTimeout(r, 20));
    await app.core.keys.revoke(admin, keyId);
    release();
    await inFlight; // concurrent with the revoke: either answer is allowed
    spy.mockRestore();
    expect((await app.verifier.verify(token)).body).toEqual({ valid: false, reason: 'revoked' });
    expect(await json(await app.verify({ key: token }))).toEqual({ valid: false, reason: 'revoked' });
  });

  it('says unknown for a well-formed token nobody created', async () => {
    const { token } = await app.createKey();
    const other = await app.core.keys.create(admin, { name: 'x', description: 'another key here', roles: ['ic_viewer'] });
    // A token of the right shape and checksum that is not stored: take a real one and delete its key.
    await app.mongo.models.apiKeys.deleteOne({ keyId: other.key.keyId });
    expect(await json(await app.verify({ key: other.token }))).toEqual({ valid: false, reason: 'unknown' });
    expect((await app.verifier.verify(other.token)).source).toBe('cache');
    expect((await json(await app.verify({ key: token }))).valid).toBe(true);
  });

  it('records lastUsedAt in a batch, not per request', async () => {
    const { keyId, token } = await app.createKey();
    const before = new Date();
    for (let i = 0; i < 5; i++) await app.verify({ key: token });
    await expect.poll(async () => (await app.core.keyRepo.find('T0TEST', keyId))?.lastUsedAt, { timeout: 3_000 }).toBeInstanceOf(Date);
    const at = (await app.core.keyRepo.find('T0TEST', keyId))!.lastUsedAt!;
    expect(at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);
  });

  it('a cache hit moves lastUsedAt on too, to the time of that hit', async () => {
    const { keyId, token } = await app.createKey();
    await app.verify({ key: token });
    await expect.poll(async () => (await app.core.keyRepo.find('T0TEST', keyId))?.lastUsedAt, { timeout: 3_000 }).toBeInstanceOf(Date);
    const first = (await app.core.keyRepo.find('T0TEST', keyId))!.lastUsedAt!.getTime();
    await new Promise((r) => setTimeout(r, 300));
    const hitAt = Date.now();
    expect((await app.verifier.verify(token)).source).toBe('cache');
    await expect.poll(async () => (await app.core.keyRepo.find('T0TEST', keyId))!.lastUsedAt!.getTime(), { timeout: 3_000 }).toBeGreaterThan(first);
    const second = (await app.core.keyRepo.find('T0TEST', keyId))!.lastUsedAt!.getTime();
    expect(Math.abs(second - hitAt)).toBeLessThan(250);
  });

  it('accepts application/json with a charset and a vendor +json type', async () => {
    const { token } = await app.createKey();
    for (const type of ['application/json; charset=utf-8', 'application/vnd.keywarden+json']) {
      const res = await app.verify({ key: token }, { 'content-type': type });
      expect(res.status).toBe(200);
      expect((await json(res)).valid).toBe(true);
    }
  });
});

describe('health, readiness, metrics, OpenAPI', () => {
  it('GET /healthz is 200', async () => {
    const res = await fetch(`${app.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 with MongoDB and Redis up', async () => {
    const res = await fetch(`${app.base}/readyz`);
    expect(await json(res)).toEqual({ status: 'ready', checks: { mongodb: 'ok', redis: 'ok' } });
    expect(res.status).toBe(200);
  });

  it('GET /metrics counts verifications by result and has the latency histogram', async () => {
    await app.verify({ key: 'nope' });
    const res = await fetch(`${app.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/keywarden_verify_requests_total\{result="valid",source="cache"\} \d+/);
    expect(text).toMatch(/keywarden_verify_requests_total\{result="malformed",source="format"\} \d+/);
    expect(text).toContain('keywarden_verify_duration_seconds_bucket');
    expect(text).toContain('# TYPE keywarden_webhook_deliveries_total counter');
  });

  it('GET /openapi.json describes the verify route from the zod schemas', async () => {
    const res = await fetch(`${app.base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.openapi).toBe('3.1.0');
    const op = doc.paths['/v1/keys/verify'].post;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413']));
    expect(doc.components.schemas.VerifyRequest.properties.key.type).toBe('string');
    expect(doc.components.schemas.VerifyInvalid.properties.reason.enum).toEqual(['malformed', 'unknown', 'revoked', 'expired', 'rolled']);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(expect.arrayContaining(['code', 'message', 'requestId']));
  });
});
