import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/core.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { slashCommand } from '../support/slack-requests.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';

/**
 * Just enough of a WebSocket server (RFC 6455: handshake, unmasked text frames out, masked
 * frames in, ping/close) to play Slack's Socket Mode endpoint on loopback.
 */
class TinySocketServer {
  readonly server: Server = createServer();
  readonly received: Array<Record<string, unknown>> = [];
  private socket?: Duplex;

  constructor(private readonly onOpen: (send: (msg: unknown) => void) => void) {
    this.server.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      this.socket = socket;
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const frame = this.readFrame(buf);
          if (!frame) break;
          buf = buf.subarray(frame.size);
          if (frame.opcode === 1) this.received.push(JSON.parse(frame.payload.toString('utf8')) as Record<string, unknown>);
          else if (frame.opcode === 9) socket.write(this.frame(10, frame.payload));
          else if (frame.opcode === 8) socket.end(this.frame(8, Buffer.alloc(0)));
        }
      });
      socket.on('error', () => undefined);
      this.onOpen((msg) => this.send(msg));
    });
  }

  send(msg: unknown): void {
    this.socket?.write(this.frame(1, Buffer.from(JSON.stringify(msg))));
  }

  private frame(opcode: number, payload: Buffer): Buffer {
    const head =
      payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
    return Buffer.concat([head, payload]);
  }

  private readFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
    if (buf.length < 2) return undefined;
    const opcode = buf[0]! & 0x0f;
    let len = buf[1]! & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (buf.length < 4) return undefined;
      len = buf.readUInt16BE(2);
      offset = 4;
    } else if (len === 127) {
      if (buf.length < 10) return undefined;
      len = Number(buf.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (buf[1]! & 0x80) !== 0;
    const maskLen = masked ? 4 : 0;
    if (buf.length < offset + maskLen + len) return undefined;
    const payload = Buffer.from(buf.subarray(offset + maskLen, offset + maskLen + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buf[offset + (i % 4)]!;
    return { opcode, payload, size: offset + maskLen + len };
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('Socket Mode (SLACK_APP_TOKEN set)', () => {
  let fake: FakeSlack;
  let ws: TinySocketServer;
  let slack: SlackApp;
  let mongo: Awaited<ReturnType<typeof openTestMongo>>;

  beforeAll(async () => {
    fake = await startFakeSlack();
    ws = new TinySocketServer((send) =>
      send({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 3600 }, connection_info: { app_id: 'A0TEST' } }),
    );
    const wsPort = await ws.listen();
    fake.on('apps.connections.open', () => ({ ok: true, url: `ws://127.0.0.1:${wsPort}/link/?ticket=t` }));
    mongo = await openTestMongo('slacksocket');
    const config = testConfig({ SLACK_API_URL: fake.url, SLACK_APP_TOKEN: 'xapp-1-test-token' });
    slack = await createSlackApp(createCore(config, captureLogger().log, mongo), { retryConfig: { retries: 0 } });
  });
  afterAll(async () => {
    await slack?.stop().catch(() => undefined);
    await ws?.close();
    await fake?.close();
    await mongo?.drop();
  });

  it('connects with the app token, acks a slash command envelope and answers on its response URL', async () => {
    expect(slack.requestListener).toBeUndefined();
    await slack.start();
    const open = fake.callsOf('apps.connections.open')[0];
    expect(open?.token).toBe('xapp-1-test-token');

    const responseUrl = fake.responseUrl();
    const payload = Object.fromEntries(new URLSearchParams(slashCommand({ text: 'list', userId: 'UADMIN1', responseUrl })));
    ws.send({ envelope_id: 'env-1', type: 'slash_commands', payload, accepts_response_payload: true });

    const reply = await fake.waitFor('respond', (c) => c.url === responseUrl);
    expect(reply.args.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply.args.blocks)).toMatch(/No active API keys yet/);
    expect(ws.received.some((m) => m.envelope_id === 'env-1')).toBe(true);
  });
});
