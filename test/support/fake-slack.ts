import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/** Team, bot and app ids the fake answers with; payload builders default to the same team. */
export const FAKE_TEAM_ID = 'T0TEST';
/** The bot user id returned by `auth.test` (Bolt's `ignoreSelf` compares events against it). */
export const FAKE_BOT_USER_ID = 'UBOT';
/** The bot id returned by `auth.test`. */
export const FAKE_BOT_ID = 'BBOT';

/** One request the fake received, either a Web API call or a POST to a response URL. */
export interface FakeSlackCall {
  /** Web API method (`views.open`, `chat.postEphemeral`, …), or `respond` for a response URL. */
  method: string;
  /** Parsed arguments: form fields (JSON-looking ones such as `view`, `blocks` parsed) or the JSON body. */
  args: Record<string, unknown>;
  /** Token from `Authorization: Bearer …` (or a `token` form field); undefined for response URLs. */
  token: string | undefined;
  /** `Date.now()` when the request was received. */
  at: number;
  /** The full response URL, only for `respond` calls. */
  url?: string;
}

/** What a method handler answers: the JSON body Slack would send (HTTP 200). */
export type FakeSlackAnswer = Record<string, unknown>;

/** Replaces the default answer of one Web API method. */
export type FakeSlackHandler = (call: FakeSlackCall) => FakeSlackAnswer;

/** A running fake of the Slack Web API and of response URLs, on loopback. */
export interface FakeSlack {
  /** Web API base URL, `http://127.0.0.1:PORT/api/`: Bolt's `clientOptions.slackApiUrl` / `SLACK_API_URL`. */
  readonly url: string;
  /** Every call received, oldest first. */
  readonly calls: FakeSlackCall[];
  /** Calls of one method, oldest first. */
  callsOf(method: string): FakeSlackCall[];
  /**
   * Resolves with the first call (already received or still to come) of `method` matching
   * `predicate`; rejects after `timeoutMs` (default 5000) listing the methods seen.
   */
  waitFor(method: string, predicate?: (call: FakeSlackCall) => boolean, timeoutMs?: number): Promise<FakeSlackCall>;
  /**
   * The next `times` (default 1) calls of `method` answer `{ok:false, error}` (default
   * `internal_error`) with HTTP 200, as Slack does. For `respond`, the response URL answers
   * HTTP 404 with the error as text, which makes Bolt's `respond()` throw.
   */
  failNext(method: string, error?: string, times?: number): void;
  /** Answers `method` with `handler` instead of the default until `reset()`. */
  on(method: string, handler: FakeSlackHandler): void;
  /** A fresh response URL on this server, for a payload's `response_url`. */
  responseUrl(id?: string): string;
  /** Forgets calls, pending failures and handlers (generated ids keep counting). */
  reset(): void;
  /** Stops the server, closing open connections. */
  close(): Promise<void>;
}

interface Failure {
  error: string;
  remaining: number;
}

/** Parses a form body; fields that hold JSON objects or arrays (`view`, `blocks`) become objects. */
function parseForm(text: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = looksLikeJson(value) ? parseJsonOr(value) : value;
  }
  return args;
}

function looksLikeJson(value: string): boolean {
  const first = value.trimStart()[0];
  return first === '{' || first === '[';
}

function parseJsonOr(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function parseBody(text: string, contentType: string | undefined): Record<string, unknown> {
  if (text === '') return {};
  if (contentType?.startsWith('application/json')) {
    const parsed = parseJsonOr(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  }
  return parseForm(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8';
  res.writeHead(status, { 'content-type': type }).end(text);
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

function asString(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

/** Default answers, shaped as Slack documents them; ids and timestamps are generated. */
function defaultAnswers(): (call: FakeSlackCall) => FakeSlackAnswer {
  let viewCount = 0;
  let tsCount = 0;
  const epoch = Math.floor(Date.now() / 1000);
  // Home tabs keep one view per user, and views.update by external_id keeps the id it was opened with.
  const homeViews = new Map<string, string>();
  const externalViews = new Map<string, string>();
  const nextViewId = (): string => `V${String(++viewCount).padStart(8, '0')}`;
  const nextTs = (): string => `${epoch}.${String(++tsCount).padStart(6, '0')}`;

  const viewAnswer = (call: FakeSlackCall): FakeSlackAnswer => {
    const view = (typeof call.args.view === 'object' && call.args.view !== null ? call.args.view : {}) as Record<string, unknown>;
    const externalId = asString(call.args.external_id ?? view.external_id);
    let id: string;
    if (call.method === 'views.update') {
      id = asString(call.args.view_id) || externalViews.get(externalId) || nextViewId();
    } else if (call.method === 'views.publish') {
      const user = asString(call.args.user_id);
      id = homeViews.get(user) ?? nextViewId();
      homeViews.set(user, id);
    } else {
      id = nextViewId();
    }
    if (externalId !== '') externalViews.set(externalId, id);
    return {
      ok: true,
      view: {
        team_id: FAKE_TEAM_ID,
        app_id: 'A0TEST',
        bot_id: FAKE_BOT_ID,
        callback_id: '',
        private_metadata: '',
        state: { values: {} },
        hash: `${Date.now()}.${id}`,
        ...view,
        id,
      },
    };
  };

  return (call) => {
    const { args } = call;
    switch (call.method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'keywarden',
          team_id: FAKE_TEAM_ID,
          user_id: FAKE_BOT_USER_ID,
          bot_id: FAKE_BOT_ID,
        };
      case 'views.open':
      case 'views.push':
      case 'views.update':
      case 'views.publish':
        return viewAnswer(call);
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'chat.postMessage': {
        const ts = nextTs();
        const message = { type: 'message', text: args.text, blocks: args.blocks, user: FAKE_BOT_USER_ID, bot_id: FAKE_BOT_ID, ts };
        return { ok: true, channel: args.channel, ts, message };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${asString(args.users ?? args.user)}` } };
      case 'users.info': {
        const id = asString(args.user);
        return {
          ok: true,
          user: { id, name: `user-${id.toLowerCase()}`, profile: { real_name: `User ${id}`, email: `${id.toLowerCase()}@example.com` } },
        };
      }
      default:
        return { ok: true };
    }
  };
}

/** Starts the fake on 127.0.0.1 on a free port. Close it in `afterAll`/`afterEach`. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: FakeSlackCall[] = [];
  const failures = new Map<string, Failure>();
  const handlers = new Map<string, FakeSlackHandler>();
  // Not reset by reset(): view ids and message ts stay unique and increasing for the server's life.
  const answer = defaultAnswers();

  const takeFailure = (method: string): string | undefined => {
    const failure = failures.get(method);
    if (failure === undefined) return undefined;
    if (--failure.remaining <= 0) failures.delete(method);
    return failure.error;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      const requestUrl = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      const args = parseBody(text, req.headers['content-type']);
      const at = Date.now();

      if (req.method === 'POST' && requestUrl.pathname.startsWith('/respond/')) {
        calls.push({ method: 'respond', args, token: undefined, at, url: requestUrl.href });
        const error = takeFailure('respond');
        send(res, error === undefined ? 200 : 404, error ?? { ok: true });
        return;
      }

      const match = /^\/api\/([\w.]+)$/.exec(requestUrl.pathname);
      if (match?.[1] === undefined) {
        send(res, 404, { ok: false, error: 'unknown_path' });
        return;
      }
      const method = match[1];
      for (const [key, value] of requestUrl.searchParams) args[key] ??= value;
      const call: FakeSlackCall = { method, args, token: bearer(req) ?? (typeof args.token === 'string' ? args.token : undefined), at };
      calls.push(call);
      const error = takeFailure(method);
      if (error !== undefined) {
        send(res, 200, { ok: false, error });
        return;
      }
      send(res, 200, (handlers.get(method) ?? answer)(call));
    })().catch((err: unknown) => {
      send(res, 500, { ok: false, error: 'fake_slack_crashed', detail: String(err) });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const callsOf = (method: string): FakeSlackCall[] => calls.filter((c) => c.method === method);

  return {
    url: `${origin}/api/`,
    calls,
    callsOf,
    async waitFor(method, predicate = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = calls.find((c) => c.method === method && predicate(c));
        if (found !== undefined) return found;
        if (Date.now() >= deadline) {
          const seen = calls.map((c) => c.method).join(', ') || 'none';
          throw new Error(`fake Slack: no matching ${method} call within ${timeoutMs} ms; methods seen: ${seen}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    failNext(method, error = 'internal_error', times = 1) {
      failures.set(method, { error, remaining: times });
    },
    on(method, handler) {
      handlers.set(method, handler);
    },
    responseUrl(id = randomUUID()) {
      return `${origin}/respond/${encodeURIComponent(id)}`;
    },
    reset() {
      calls.length = 0;
      failures.clear();
      handlers.clear();
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
