import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCore, type Core } from '../../src/core.js';
import type { Clock } from '../../src/util/clock.js';
import { createSlackApp, type SlackApp, type SlackAppOptions } from '../../src/slack/app.js';
import { startFakeSlack, type FakeSlack, type FakeSlackCall } from '../support/fake-slack.js';
import {
  blockAction,
  sendSigned,
  slashCommand,
  viewSubmission,
  type BlockActionOptions,
  type SignedResponse,
  type ViewSubmissionOptions,
} from '../support/slack-requests.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';

export const TEAM = 'T0TEST';
export const ADMIN = 'UADMIN1';
export const VIEWER = 'UVIEWER1';
export const STRANGER = 'USTRANGER1';

/** The app in-process: real MongoDB, the fake Slack Web API, and a node:http server in front. */
export interface SlackHarness {
  fake: FakeSlack;
  core: Core;
  slack: SlackApp;
  logs: ReturnType<typeof captureLogger>;
  baseUrl: string;
  secret: string;
  send(body: string, opts?: { timestamp?: number; signature?: string }): Promise<SignedResponse>;
  /** Sends `/apikey <text>` as `userId` and waits for the ephemeral answer on its response URL. */
  command(userId: string, text: string): Promise<{ res: SignedResponse; reply: FakeSlackCall; responseUrl: string; triggerId: string }>;
  /** Sends `/apikey <text>` without waiting for an answer. */
  commandOnly(userId: string, text: string): Promise<{ res: SignedResponse; responseUrl: string; triggerId: string }>;
  click(opts: BlockActionOptions): Promise<SignedResponse>;
  submit(opts: ViewSubmissionOptions): Promise<SignedResponse>;
  /** Every document of every collection, as JSON text. */
  dbDump(): Promise<string>;
  close(): Promise<void>;
}

let triggerCount = 0;

/** `env`: more configuration variables (e.g. a REDIS_URL nothing answers on). */
export async function startSlackHarness(
  label: string,
  appOptions: SlackAppOptions = {},
  clock?: Clock,
  env: Record<string, string> = {},
): Promise<SlackHarness> {
  const fake = await startFakeSlack();
  const mongo = await openTestMongo(label);
  const logs = captureLogger('debug');
  const config = testConfig({ SLACK_API_URL: fake.url, ADMIN_SLACK_USER_IDS: ADMIN, ...env });
  const core = createCore(config, logs.log, mongo, undefined, clock);
  const slack = await createSlackApp(core, { retryConfig: { retries: 0 }, ...appOptions });
  const server: Server = createServer((req, res) => slack.requestListener!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const secret = config.SLACK_SIGNING_SECRET;
  const send = (body: string, opts: { timestamp?: number; signature?: string } = {}) => sendSigned(baseUrl, body, { secret, ...opts });

  const commandOnly = async (userId: string, text: string) => {
    const responseUrl = fake.responseUrl();
    const triggerId = `trigger.${++triggerCount}.${Date.now()}`;
    const res = await send(slashCommand({ text, userId, responseUrl, triggerId }));
    return { res, responseUrl, triggerId };
  };

  return {
    fake,
    core,
    slack,
    logs,
    baseUrl,
    secret,
    send,
    commandOnly,
    async command(userId, text) {
      const sent = await commandOnly(userId, text);
      const reply = await fake.waitFor('respond', (c) => c.url === sent.responseUrl);
      return { ...sent, reply };
    },
    click: (opts) => send(blockAction(opts)),
    submit: (opts) => send(viewSubmission(opts)),
    async dbDump() {
      const db = mongo.conn.db!;
      const out: string[] = [];
      for (const c of await db.listCollections().toArray()) {
        out.push(JSON.stringify(await db.collection(c.name).find({}).toArray()));
      }
      return out.join('\n');
    },
    async close() {
      await slack.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
      await core.close();
      await mongo.drop();
    },
  };
}

/** Adds a viewer through the domain, as an admin would with `/apikey members add`. */
export async function addViewer(core: Core, userId = VIEWER): Promise<void> {
  await core.members.set({ communityId: TEAM, userId: ADMIN }, userId, 'viewer');
}

/** Flattens all text and values of Block Kit JSON, for "does it mention X" assertions. */
export const textOf = (v: unknown) => JSON.stringify(v ?? null);

/** The action_ids present in a list of blocks. */
export function actionIdsIn(blocks: unknown): string[] {
  const ids: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.action_id === 'string') ids.push(o.action_id);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return ids;
}

/** Polls until `fn` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
