import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postToResponseUrl, ResponseUrlError } from '../../../src/slack/response-url.js';

// A local server standing in for Slack's response_url endpoint: records each post and the
// connection it came on, answers with the status the path names (/status/404 → 404).
let server: Server;
let base: string;
const posts: Array<{ path: string; type?: string; body: string; socket: number }> = [];
const sockets = new WeakMap<object, number>();
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, ++connections);
      posts.push({ path: req.url ?? '', type: req.headers['content-type'], body, socket: sockets.get(req.socket)! });
      const status = Number(/^\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'expired_url');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('postToResponseUrl', () => {
  it('posts the message as JSON and resolves on 200', async () => {
    posts.length = 0;
    const message = { response_type: 'ephemeral', text: 'Keys: `ak_1` — “quoted” ✓', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }] };
    await postToResponseUrl(`${base}/commands/T1/123/abc`, message);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ path: '/commands/T1/123/abc', type: 'application/json' });
    expect(JSON.parse(posts[0]!.body)).toEqual(message);
  });

  it('rejects with the status when Slack refuses the post (an expired response_url answers 404)', async () => {
    const err = await postToResponseUrl(`${base}/status/404`, { text: 'late' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseUrlError);
    expect(err).toMatchObject({ status: 404, message: expect.stringContaining('404') as string });
  });

  it('reuses one connection for answers one after another (keep-alive)', async () => {
    posts.length = 0;
    for (let i = 0; i < 5; i++) await postToResponseUrl(`${base}/commands/T1/${i}`, { text: String(i) });
    expect(new Set(posts.map((p) => p.socket)).size).toBe(1);
  });

  it('refuses a URL that is not http(s) without sending anything', async () => {
    posts.length = 0;
    await expect(postToResponseUrl('file:///etc/passwd', { text: 'x' })).rejects.toThrow(/unsupported scheme/);
    await expect(postToResponseUrl('not a url', { text: 'x' })).rejects.toThrow(/not a URL/);
    expect(posts).toHaveLength(0);
  });

  it('rejects when the endpoint cannot be reached', async () => {
    await expect(postToResponseUrl('http://127.0.0.1:9/respond', { text: 'x' })).rejects.toThrow(/ECONNREFUSED/);
  });
});
