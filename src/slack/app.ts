import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, type Logger as SlackLogger } from '@slack/bolt';
import type { RetryOptions } from '@slack/web-api';
import type { Core } from '../core.js';
import { isKeyError } from '../errors.js';
import { SLACK_BODY } from '../http/slack-body.js';
import type { SlackDeps } from './deps.js';
import { slackLogger } from './logging.js';
import { registerListeners } from './register.js';
import { isFutureDated } from './request-age.js';

/** The Slack side of the API process. */
export interface SlackApp {
  /** HTTP mode: serve `POST /slack/events` with it. Undefined in Socket Mode. */
  requestListener?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Socket Mode: connects. HTTP mode: nothing to do (the shared server listens). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SlackAppOptions {
  /** Web API retries (default: the client's, ten over ~30 minutes); tests use `{ retries: 0 }`. */
  retryConfig?: RetryOptions;
  /**
   * How long a create submission waits for the database before acking with "Creating…"
   * and updating the modal after. Default 2000 ms, under Slack's 3-second deadline.
   */
  ackBudgetMs?: number;
}

/**
 * Client options whose `logger` cannot be replaced. Bolt assigns its own logger to
 * `clientOptions.logger` when given a `logger` (App.js, "WebClient starts sharing logger
 * with App"), so every WebClient it builds would log whole request bodies, tokens and new
 * secrets included, at debug. A getter with a setter that ignores the write keeps the Web
 * API client on `logger`, which drops debug; the secret scrubbing of `slackLogger` is the
 * second line. Spread copies (Bolt's per-request clients) read the getter and keep it too.
 */
export function withPinnedLogger<T extends object>(options: T, logger: SlackLogger): T & { logger: SlackLogger } {
  return Object.defineProperty({ ...options }, 'logger', {
    enumerable: true,
    get: () => logger,
    set: () => undefined,
  }) as T & { logger: SlackLogger };
}

/**
 * Builds the Bolt app: HTTP mode (an HTTPReceiver whose listener the shared HTTP server
 * mounts at /slack/events) or Socket Mode when SLACK_APP_TOKEN is set. Resolves once the
 * bot token is verified (`auth.test`).
 */
export async function createSlackApp(core: Core, opts: SlackAppOptions = {}): Promise<SlackApp> {
  const { config } = core;
  const log = core.log.child({ component: 'slack' });
  const logger = slackLogger(log);
  const clientOptions = withPinnedLogger(
    {
      ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
      ...(opts.retryConfig ? { retryConfig: opts.retryConfig } : {}),
    },
    slackLogger(log.child({ component: 'slack-web-api' }), { dropDebug: true }),
  );
  const socketMode = Boolean(config.SLACK_APP_TOKEN);
  const receiver = socketMode
    ? undefined
    : // The public server reads the body first (size and time limits); bodyLimit is a second line.
      new HTTPReceiver({
        signingSecret: config.SLACK_SIGNING_SECRET,
        endpoints: '/slack/events',
        logger,
        processBeforeResponse: false,
        bodyLimit: SLACK_BODY.bytes,
      });
  const app = new App({
    token: config.SLACK_BOT_TOKEN,
    logger,
    clientOptions,
    // auth.test runs in init(), awaited below, so a bad token fails start-up with its error.
    deferInitialization: true,
    // No listener uses conversation state; skipping its middleware keeps the ack path short.
    convoStore: false,
    ...(receiver ? { receiver } : { socketMode: true, appToken: config.SLACK_APP_TOKEN, signingSecret: config.SLACK_SIGNING_SECRET }),
  });
  await app.init();

  const deps: SlackDeps = { core, log, dependents: core.dependents, ackBudgetMs: opts.ackBudgetMs ?? 2000 };
  registerListeners(app, deps);

  app.error(async (error) => {
    // KeyErrors are answered in the handlers; anything reaching here is a bug or an outage.
    const original = (error as { original?: unknown }).original ?? error;
    if (isKeyError(original)) log.warn({ code: original.code, err: original.message }, 'unanswered expected failure');
    else log.error({ err: (original as Error).message, code: (error as { code?: string }).code }, 'slack handler failed');
  });

  if (!receiver) {
    return {
      start: async () => {
        await app.start();
      },
      stop: async () => {
        await app.stop();
      },
    };
  }
  return {
    requestListener: (req, res) => {
      // Wall-clock time, as Bolt's own past-side check uses: this is Slack's replay window,
      // not domain time (tests move the domain clock to expire keys).
      if (req.method === 'POST' && isFutureDated(req.headers['x-slack-request-timestamp'], Date.now())) {
        log.warn({ timestamp: req.headers['x-slack-request-timestamp'] }, 'refused a Slack request dated more than 5 minutes in the future');
        res.writeHead(401, { connection: 'close' }).end();
        req.resume();
        return;
      }
      try {
        receiver.requestListener(req, res);
      } catch {
        // Not POST /slack/events: Bolt throws to let the caller route it elsewhere.
        if (!res.headersSent) res.writeHead(404).end();
      }
    },
    start: async () => undefined,
    stop: async () => undefined,
  };
}
