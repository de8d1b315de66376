import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/core.js';
import { createPublicServer, type HttpServer } from '../../src/http/server.js';
import { createSlackApp } from '../../src/slack/app.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { rawExchange } from '../support/raw-http.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';
import { nowSeconds, sendSigned, sign, slashCommand } from '../support/slack-requests.js';

const ADMIN = 'UADMIN1';
const LIMIT = 256 * 1024;

let fake: FakeSlack;
let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let pub: HttpServer;
let port = 0;
let base = '';
let secret = '';

beforeAll(async () => {
  fake = await startFakeSlack();
  mongo = await openTestMongo('slackbody');
  const config = testConfig({ SLACK_API_URL: fake.url, ADMIN_SLACK_USER_IDS: ADMIN });
  secret = config.SLACK_SIGNING_SECRET;
  const core = createCore(config, captureLogger().log, mongo);
  const slack = await createSlackApp(core, { retryConfig: { retries: 0 } });
  // The production limits, but a short wait for slow bodies so that the test does not sleep 10 s.
  pub = createPublicServer(core, { slackListener: slack.requestListener, slackBody: { bytes: LIMIT, timeoutMs: 300 } });
  port = await pub.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await pub?.close();
  await fake?.close();
  await mongo?.drop();
});

/** A signed slash command, padded to `size` bytes: it would be answered if it were read. */
function signedCommand(size: number): { head: (framing: string) => string; body: Buffer } {
  const text = slashCommand({ text: 'help', userId: ADMIN, responseUrl: fake.responseUrl() });
  const body = Buffer.from(`${text}&pad=${'p'.repeat(Math.max(0, size - text.length - 5))}`);
  const ts = nowSeconds();
  return {
    body,
    head: (framing) =>
      `POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n` +
      `x-slack-request-timestamp: ${ts}\r\nx-slack-signature: ${sign(secret, ts, body.toString())}\r\n${framing}\r\n\r\n`,
  };
}

/** `body` in chunked transfer encoding, in 16 KiB chunks, with the final empty chunk. */
const chunked = (body: Buffer) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += 16 * 1024) {
    const piece = body.subarray(i, i + 16 * 1024);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  return Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
};

const errorOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };

describe('/slack/events reads at most 256 KiB, within a time limit', () => {
  it('a Content-Length over the limit is refused with 413 before any of the body is sent', async () => {
    const { head } = signedCommand(LIMIT + 1);
    // Only the head goes out: the answer cannot depend on reading the body.
    const r = await rawExchange(port, head(`content-length: ${LIMIT + 1}`), { timeoutMs: 5_000 });
    expect(r.status).toBe(413);
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(errorOf(r.text).error.code).toBe('payload_too_large');
  });

  it('a chunked body that passes the limit is cut off with 413 and never reaches Bolt', async () => {
    fake.reset();
    const { head, body } = signedCommand(LIMIT + 64 * 1024);
    const r = await rawExchange(port, head('transfer-encoding: chunked'), { body: chunked(body), timeoutMs: 5_000 });
    expect(r.status).toBe(413);
    expect(errorOf(r.text).error.code).toBe('payload_too_large');
    await new Promise((done) => setTimeout(done, 300));
    expect(fake.calls).toEqual([]);
  });

  it('20 of 20 concurrent clients uploading 2 MB read the 413 (lingering close, not a reset)', async () => {
    const { head } = signedCommand(0);
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        rawExchange(port, head(`content-length: ${body.length}`), { body, bodyDelayMs: 100, readAfterWrite: true, timeoutMs: 8_000 }),
      ),
    );
    expect(replies.map((r) => (r.writeFailed ? 'write failed' : r.status))).toEqual(Array(20).fill(413));
  });

  it('a body that stalls is refused with 408 once the time limit passes', async () => {
    const { head, body } = signedCommand(2_000);
    const r = await rawExchange(port, head(`content-length: ${body.length}`), { body: body.subarray(0, 100), timeoutMs: 5_000 });
    expect(r.status).toBe(408);
    expect(r.firstByteMs).toBeGreaterThanOrEqual(250);
    expect(errorOf(r.text).error.code).toBe('request_timeout');
    expect(r.ended).not.toBe('timeout');
  });

  it('a signed command still works, with a Content-Length or chunked', async () => {
    const responseUrl = fake.responseUrl();
    const res = await sendSigned(base, slashCommand({ text: 'help', userId: ADMIN, responseUrl }), { secret });
    expect(res.status).toBe(200);
    await fake.waitFor('respond', (c) => c.url === responseUrl);

    const { head, body } = signedCommand(40 * 1024);
    const r = await rawExchange(port, head('transfer-encoding: chunked\r\nconnection: close'), { body: chunked(body), timeoutMs: 3_000 });
    expect(r.status).toBe(200);
  });

  it('an unsigned request within the limits is still refused by Bolt (401)', async () => {
    const r = await rawExchange(
      port,
      'POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 5\r\nconnection: close\r\n\r\n',
      { body: Buffer.from('a=b&c'), timeoutMs: 3_000 },
    );
    expect(r.status).toBe(401);
  });
});
