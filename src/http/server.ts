import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Core } from '../core.js';
import type { Logger } from '../log.js';
import { HttpError, requestIdOf, sendError, sendJson } from './errors.js';
import { collectProcessMetrics, countSeries, httpResponses, type CountSeries } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { healthRoute, readyRoute } from './routes/health.js';
import { metricsRoute, type QueueLike } from './routes/metrics.js';
import { verifyRoute } from './routes/verify.js';
import type { Verifier } from './verifier.js';

/** What a route gets besides the request and response. */
export interface RequestContext {
  requestId: string;
  log: Logger;
}

export type Handler = ((req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void> | void) & {
  /** Set when the handler sends `x-request-id` itself (with its writeHead), sparing a setHeader per request. */
  writesRequestId?: boolean;
};

export interface HttpServerOptions {
  verifier: Verifier;
  /** Bolt's request listener; receives every request to /slack/events. */
  slackListener?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Queues whose depths /metrics reports. */
  queues?: { revocations: QueueLike; webhooks: QueueLike };
}

export interface HttpServer {
  server: Server;
  /** Listens on `port` (0: any free port) and resolves with the port in use. */
  listen(port: number): Promise<number>;
  /** Stops accepting, lets in-flight requests finish within SHUTDOWN_GRACE_MS, then cuts the rest. */
  close(): Promise<void>;
}

const SLACK_PATH = '/slack/events';

/**
 * One plain node:http server on PORT for Slack and the HTTP API (no framework: the verify
 * path is a hot path). Routing is an exact path and method match.
 */
export function createHttpServer(core: Core, opts: HttpServerOptions): HttpServer {
  const { config, log } = core;
  const hlog = log.child({ component: 'http' });
  collectProcessMetrics();

  let openapi: string | undefined;
  const routes = new Map<string, Partial<Record<string, Handler>>>([
    ['/v1/keys/verify', { POST: verifyRoute(opts.verifier, config.VERIFY_TOKEN) }],
    ['/healthz', { GET: healthRoute }],
    ['/readyz', { GET: readyRoute(core, opts.verifier) }],
    ['/metrics', { GET: metricsRoute(opts.queues ? [opts.queues.revocations, opts.queues.webhooks] : []) }],
    ['/openapi.json', { GET: (_req, res) => sendJson(res, 200, JSON.parse((openapi ??= JSON.stringify(openApiDocument())))) }],
  ]);

  let closing = false;

  // Label lookups cost more than the increments: one bound series per route and status.
  const responseSeries = new Map<string, Map<number, CountSeries>>();
  const countResponse = (route: string, status: number) => {
    let byStatus = responseSeries.get(route);
    if (!byStatus) responseSeries.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) byStatus.set(status, (series = countSeries(httpResponses, route, String(status))));
    series.inc();
  };
  const fail = (res: ServerResponse, e: unknown, requestId: string, route: string) => {
    sendError(res, e, requestId, hlog);
    countResponse(route, res.statusCode);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === SLACK_PATH && opts.slackListener) {
      opts.slackListener(req, res);
      return;
    }
    const requestId = requestIdOf(req);
    if (closing) res.setHeader('connection', 'close');
    const methods = routes.get(path);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const handler = methods?.[method];
    const route = methods ? path : 'unmatched';
    if (!handler) {
      // sendError sets x-request-id itself.
      fail(res, methods
        ? new HttpError(405, 'method_not_allowed', `Use ${Object.keys(methods).join(', ')}.`, { allow: Object.keys(methods).join(', ') })
        : new HttpError(404, 'not_found', `No route ${path}.`), requestId, route);
      return;
    }
    if (!handler.writesRequestId) res.setHeader('x-request-id', requestId);
    let done: Promise<void> | void;
    try {
      done = handler(req, res, { requestId, log: hlog });
    } catch (e) {
      fail(res, e, requestId, route);
      return;
    }
    if (done) done.then(() => countResponse(route, res.statusCode), (e: unknown) => fail(res, e, requestId, route));
    else countResponse(route, res.statusCode);
  };

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, onRequest);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  return {
    server,
    listen(port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, () => {
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
