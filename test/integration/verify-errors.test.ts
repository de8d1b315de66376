import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { rawExchange } from '../support/raw-http.js';
import { json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

let app: VerifyApp;
let token: string;
beforeAll(async () => {
  app = await startVerifyApp();
  ({ token } = await app.createKey());
});
afterAll(async () => {
  await app?.close();
});
// Process unharmed: whatever a test sent, a good request right after it is answered.
afterEach(async () => {
  const res = await app.verify({ key: token });
  expect(await json(res)).toMatchObject({ valid: true });
});

/** Sends a body with node:http, optionally chunked (no Content-Length), and reads the answer. */
function rawPost(
  path: string,
  body: Buffer,
  opts: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(path, app.base);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.chunked ? {} : { 'content-length': String(body.length) }), ...opts.headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    // The server may close while we are still writing a refused body: that is the point.
    req.on('error', (e: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(e.code ?? '') ? undefined : reject(e)));
    if (opts.chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

const wrongChecksum = (t: string) => t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');

describe('200 with valid: false', () => {
  it.each([
    ['a random string', 'hello world'],
    ['an empty string', ''],
    ['the right prefix with garbage', 'kw_not-a-real-key'],
    ['another prefix', 'sk_live_0123456789abcdefghijklmnopqrstuv'],
    ['a very long string', 'kw_' + 'a'.repeat(4000)],
  ])('%s is malformed', async (_label, key) => {
    const res = await app.verify({ key });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ valid: false, reason: 'malformed' });
  });

  it('a real token with one character changed fails its checksum: malformed', async () => {
    expect(await json(await app.verify({ key: wrongChecksum(token) }))).toEqual({ valid: false, reason: 'malformed' });
  });

  it('extra fields are ignored', async () => {
    expect(await json(await app.verify({ key: token, extra: 1 }))).toMatchObject({ valid: true });
  });
});

describe('400: not {"key": string} as JSON', () => {
  it.each([
    ['not JSON', 'key=kw_abc'],
    ['truncated JSON', '{"key": "kw_'],
    ['an empty body', ''],
    ['JSON null', 'null'],
    ['a JSON string', '"kw_abc"'],
    ['an array', '[{"key":"kw_abc"}]'],
    ['no key', '{}'],
    ['a number key', '{"key": 42}'],
    ['a null key', '{"key": null}'],
  ])('%s', async (_label, body) => {
    const res = await app.verify(body);
    expect(res.status).toBe(400);
    const b = await json(res);
    expect(b).toEqual({ error: { code: 'invalid_request', message: expect.any(String), requestId: expect.any(String) } });
    expect(res.headers.get('x-request-id')).toBe(b.error.requestId);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form encoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/jsonp (not JSON)', { 'content-type': 'application/jsonp' }],
  ])('wrong content type %s, even with a good JSON body', async (_label, headers) => {
    const res = await app.verify({ key: token }, headers);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'invalid_request', message: 'Content-Type must be application/json.' });
  });

  it('no content type at all', async () => {
    const res = await rawPost('/v1/keys/verify', Buffer.from(JSON.stringify({ key: token })), { headers: { 'content-type': '' } });
    expect(res.status).toBe(400);
  });

  it("keeps the caller's x-request-id when it is sane, replaces it when not", async () => {
    const mine = await app.verify('nope', { 'x-request-id': 'req-123.abc' });
    expect((await json(mine)).error.requestId).toBe('req-123.abc');
    const odd = await app.verify('nope', { 'x-request-id': 'has spaces and <html>' });
    expect((await json(odd)).error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('413: bodies over 8 KiB', () => {
  const big = Buffer.from(JSON.stringify({ key: 'x'.repeat(1024 * 1024) }));

  it('a 1 MB body with Content-Length is refused before it is read', async () => {
    const res = await rawPost('/v1/keys/verify', big);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'payload_too_large' });
    expect(res.headers.connection).toBe('close');
  });

  it('a 1 MB chunked body is refused once it passes the limit', async () => {
    const res = await rawPost('/v1/keys/verify', big, { chunked: true });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
  });

  it('a small chunked body (no Content-Length) is read to its end and answered', async () => {
    const res = await rawPost('/v1/keys/verify', Buffer.from(JSON.stringify({ key: token })), { chunked: true });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ valid: true });
  });

  it('a body that arrives in pieces is answered once, when its last byte is in', async () => {
    const body = Buffer.from(JSON.stringify({ key: token }));
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = connect(Number(new URL(app.base).port), '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (text += c));
      socket.on('error', reject);
      socket.on(
        'connect',
        () =>
          void (async () => {
            socket.write(
              `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
            );
            for (let i = 0; i < body.length; i += 7) {
              socket.write(body.subarray(i, i + 7));
              await new Promise((r) => setTimeout(r, 5));
              // Nothing is answered before the last byte.
              if (i + 7 < body.length && text !== '') reject(new Error(`answered early: ${text}`));
            }
          })(),
      );
      socket.on('end', () => resolve({ status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ valid: true });
  });

  // Clients that send the head, then the body a moment later, and read only once they have
  // written it all: closing at once made every one of them see EPIPE instead of the 413.
  it('20 of 20 concurrent clients writing a 2 MB body read the 413 (no reset before they could)', async () => {
    const port = Number(new URL(app.base).port);
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    const head = `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => rawExchange(port, head, { body, bodyDelayMs: 100, readAfterWrite: true })));
    expect(replies.map((r) => (r.writeFailed ? 'write failed' : r.status))).toEqual(Array(20).fill(413));
    for (const r of replies) expect(r.text).toMatch(/\r\nconnection: close\r\n[\s\S]*"payload_too_large"/i);
  });

  it('after a 413 the rest of a body is read for 2 s at most: a stalled upload is closed then', async () => {
    const port = Number(new URL(app.base).port);
    const head = `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${64 * 1024 * 1024}\r\n\r\n`;
    const r = await rawExchange(port, head, { body: Buffer.alloc(64 * 1024), timeoutMs: 6_000 });
    expect(r.status).toBe(413);
    expect(r.ended).not.toBe('timeout');
    expect(r.ms).toBeGreaterThanOrEqual(1_900);
  });

  it('after a 413 at most about 4 MiB more is read: a client sending 64 MB is cut off', async () => {
    const port = Number(new URL(app.base).port);
    const body = Buffer.alloc(64 * 1024 * 1024, 'a');
    const head = `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const r = await rawExchange(port, head, { body });
    expect(r.status).toBe(413);
    // What the kernel took beyond the discarded 4 MiB sits in socket buffers (a few MB at most).
    expect(r.bytesWritten).toBeLessThan(32 * 1024 * 1024);
  });

  it('Content-Length: 0 is a 400 at once', async () => {
    const res = await rawPost('/v1/keys/verify', Buffer.alloc(0));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('invalid_request');
  });

  it('a body just under the limit is read', async () => {
    const body = JSON.stringify({ key: token, pad: 'p'.repeat(8 * 1024 - 200) });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(8 * 1024);
    expect(await json(await app.verify(body))).toMatchObject({ valid: true });
  });
});

describe('other routes and methods', () => {
  it('GET /v1/keys/verify is 405 with Allow', async () => {
    const res = await fetch(`${app.base}/v1/keys/verify`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await json(res)).error.code).toBe('method_not_allowed');
  });

  it('an unknown path is 404 in the same error shape', async () => {
    const res = await fetch(`${app.base}/v2/nothing`);
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 'not_found', requestId: expect.any(String) });
  });

  it('/slack/events is 404 when no Slack listener is mounted', async () => {
    expect((await fetch(`${app.base}/slack/events`, { method: 'POST' })).status).toBe(404);
  });
});

describe('GET /readyz with a dependency down', () => {
  it('is 503 naming redis when Redis is at a closed port', async () => {
    const port = await freePort();
    const down = await startVerifyApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const res = await fetch(`${down.base}/readyz`);
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body.checks).toEqual({ mongodb: 'ok', redis: 'down' });
      expect(body.error).toMatchObject({ code: 'unavailable', message: expect.stringContaining('redis') });
      expect(body.error.message).not.toContain('mongodb');
      // Verification still works without Redis: from MongoDB, never from an unconfirmable cache.
      const { token: t } = await down.createKey();
      for (let i = 0; i < 3; i++) expect(await down.verifier.verify(t)).toMatchObject({ body: { valid: true }, source: 'store' });
    } finally {
      await down.close();
    }
  });

  it('is 503 naming mongodb when MongoDB is gone', async () => {
    const other = await startVerifyApp();
    try {
      await other.mongo.conn.close();
      const res = await fetch(`${other.base}/readyz`);
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body.checks).toEqual({ mongodb: 'down', redis: 'ok' });
      expect(body.error.message).toContain('mongodb');
    } finally {
      await other.http.close();
      await other.verifier.close();
      await app.mongo.conn.useDb(other.mongo.dbName).dropDatabase();
    }
  });
});
