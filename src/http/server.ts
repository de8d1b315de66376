import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Core } from '../core.js';
import type { Logger } from '../log.js';
import { HttpError, requestIdOf, sendError, sendJsonText } from './errors.js';
import { collectProcessMetrics, httpResponses, type CountSeries } from '../observability/metrics.js';
import { openApiDocument } from './openapi.js';
import { healthRoute, readyRoute } from './routes/health.js';
import { metricsRoute, type QueueLike } from './routes/metrics.js';
import { verifyRoute } from './routes/verify.js';
import { secretScanningRoute } from './routes/secret-scanning.js';
import { GithubPublicKeys } from '../leaks/github-keys.js';
import { guardSlackBody, type SlackBodyLimits } from './slack-body.js';
import type { Verifier } from './verifier.js';

/** What a route gets besides the request and response. */
export interface RequestContext {
  /** Every answer carries it as `x-request-id` (the send helpers of errors.ts take it). */
  requestId: string;
  log: Logger;
  /** The `{name}` segments of a route path such as `/v1/keys/{keyId}` (empty for exact paths). */
  params: Readonly<Record<string, string>>;
}

/**
 * A route: answers the request, or throws (rejects with) the error to answer instead
 * (see sendError). The request is finished when its promise settles.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void>;

export interface ApiServerOptions {
  verifier: Verifier;
  /** Queues whose depths /metrics reports. */
  queues?: { revocations: QueueLike; webhooks: QueueLike };
  /** More routes (the management API); a path may have `{name}` segments. */
  routes?: [string, Partial<Record<string, Handler>>][];
}

export interface PublicServerOptions {
  /**
   * Bolt's request listener; receives every request to /slack/events (none in Socket Mode),
   * its body already read within `slackBody`'s limits.
   */
  slackListener?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Size and time limits of a body to /slack/events; default SLACK_BODY (256 KiB, 10 s). */
  slackBody?: SlackBodyLimits;
  /** GitHub's public keys for /v1/secret-scanning/github; default: fetched from GITHUB_SECRET_SCANNING_KEYS_URL. */
  githubKeys?: GithubPublicKeys;
}

export interface HttpServer {
  server: Server;
  /** Listens on `port` (0: any free port) of `host` (default: every interface) and resolves with the port in use. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, lets in-flight requests finish within SHUTDOWN_GRACE_MS, then cuts the rest. */
  close(): Promise<void>;
}

const SLACK_PATH = '/slack/events';

/**
 * The handlers of one path, and the response counters of the path (bound once per status:
 * label lookups cost more than the increments).
 */
class RouteSet {
  readonly allow: string;
  private readonly byMethod: Map<string, Handler>;
  private readonly byStatus = new Map<number, CountSeries>();
  private lastStatus = 0;
  private lastSeries: CountSeries | undefined;

  constructor(
    readonly path: string,
    methods: Partial<Record<string, Handler>>,
  ) {
    this.byMethod = new Map(Object.entries(methods).flatMap(([method, handler]) => (handler ? [[method, handler] as const] : [])));
    this.allow = [...this.byMethod.keys()].join(', ');
  }

  handlerFor(method: string): Handler | undefined {
    return this.byMethod.get(method);
  }

  count(status: number): void {
    // Most answers of a path share one status: skip the Map (a number key is hashed on every get).
    if (status !== this.lastStatus || !this.lastSeries) {
      let series = this.byStatus.get(status);
      if (!series) this.byStatus.set(status, (series = httpResponses.bind(this.path, String(status))));
      this.lastStatus = status;
      this.lastSeries = series;
    }
    this.lastSeries.inc();
  }
}

/**
 * The internal HTTP API, on API_PORT: the verify API, health, readiness, metrics and the
 * OpenAPI document. Never exposed to the internet (see README "Security model").
 */
export function createApiServer(core: Core, opts: ApiServerOptions): HttpServer {
  let openapi: string | undefined;
  return createRoutedServer(core, [
    ['/v1/keys/verify', { POST: verifyRoute(opts.verifier, core.config.VERIFY_TOKEN, core.config.VERIFY_CLIENT_IP_HEADER) }],
    ['/healthz', { GET: healthRoute }],
    ['/readyz', { GET: readyRoute(core, opts.verifier) }],
    ['/metrics', { GET: metricsRoute(opts.queues ? [opts.queues.revocations, opts.queues.webhooks] : []) }],
    ['/openapi.json', { GET: async (_req, res, { requestId }) => sendJsonText(res, 200, (openapi ??= JSON.stringify(openApiDocument())), requestId) }],
    ...(opts.routes ?? []),
  ]);
}

/**
 * The public server, on PORT: only what Slack, GitHub's secret scanning (and a load
 * balancer's health check) need.
 */
export function createPublicServer(core: Core, opts: PublicServerOptions): HttpServer {
  const slack = opts.slackListener && guardSlackBody(opts.slackListener, core.log.child({ component: 'http' }), opts.slackBody);
  const github =
    opts.githubKeys ?? new GithubPublicKeys({ url: core.config.GITHUB_SECRET_SCANNING_KEYS_URL, log: core.log.child({ component: 'github-keys' }) });
  return createRoutedServer(
    core,
    [
      ['/healthz', { GET: healthRoute }],
      ['/v1/secret-scanning/github', { POST: secretScanningRoute(core.keys, github) }],
    ],
    slack,
  );
}

/**
 * One plain node:http server (no framework: the verify path is a hot path). Routing is an
 * exact path and method match; /slack/events, when given a listener, goes to it untouched.
 */
function createRoutedServer(
  core: Core,
  table: [string, Partial<Record<string, Handler>>][],
  slackListener?: (req: IncomingMessage, res: ServerResponse) => void,
): HttpServer {
  const { config, log } = core;
  const hlog = log.child({ component: 'http' });
  collectProcessMetrics();

  const routes = new Map(table.filter(([path]) => !path.includes('{')).map(([path, methods]) => [path, new RouteSet(path, methods)]));
  // `{name}` matches one path segment; exact paths are tried first.
  const patterned = table
    .filter(([path]) => path.includes('{'))
    .map(([path, methods]) => ({
      re: new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
      set: new RouteSet(path, methods),
    }));
  const unmatched = new RouteSet('unmatched', {});
  const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

  let closing = false;

  /**
   * Runs a route and counts its answer; a rejection (or a throw) becomes the error answer.
   * Written with then() rather than as an async function: one frame less to suspend and
   * resume on every request.
   */
  const answer = (handler: Handler, set: RouteSet, req: IncomingMessage, res: ServerResponse, requestId: string, params: Readonly<Record<string, string>>) => {
    const fail = (e: unknown) => {
      sendError(res, e, requestId, hlog);
      set.count(res.statusCode);
    };
    try {
      handler(req, res, { requestId, log: hlog, params }).then(() => set.count(res.statusCode), fail);
    } catch (e) {
      fail(e);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === SLACK_PATH && slackListener) {
      slackListener(req, res);
      return;
    }
    const requestId = requestIdOf(req);
    if (closing) res.setHeader('connection', 'close');
    let params = NO_PARAMS;
    let set = routes.get(path);
    for (let i = 0; set === undefined && i < patterned.length; i++) {
      const m = patterned[i]!.re.exec(path);
      if (m) [set, params] = [patterned[i]!.set, m.groups ?? NO_PARAMS];
    }
    set ??= unmatched;
    const handler = set.handlerFor(req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'));
    if (!handler) {
      sendError(
        res,
        set === unmatched
          ? new HttpError(404, 'not_found', `No route ${path}.`)
          : new HttpError(405, 'method_not_allowed', `Use ${set.allow}.`, { allow: set.allow }),
        requestId,
        hlog,
      );
      set.count(res.statusCode);
      return;
    }
    answer(handler, set, req, res, requestId, params);
  };

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, onRequest);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      closing = true;
      return new Promise((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
