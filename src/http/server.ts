import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Core } from '../core.js';
import type { Logger } from '../log.js';
import { HttpError, requestIdOf, sendError, sendJson } from './errors.js';
import { collectProcessMetrics, httpResponses } from './metrics.js';
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

export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void> | void;

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

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === SLACK_PATH && opts.slackListener) {
      opts.slackListener(req, res);
      return;
    }
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    if (closing) res.setHeader('connection', 'close');
    const methods = routes.get(path);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const handler = methods?.[method];
    const route = methods ? path : 'unmatched';
    const finish = () => httpResponses.inc({ route, status: String(res.statusCode) });
    const fail = (e: unknown) => {
      sendError(res, e, requestId, hlog);
      finish();
    };
    if (!handler) {
      fail(methods
        ? new HttpError(405, 'method_not_allowed', `Use ${Object.keys(methods).join(', ')}.`, { allow: Object.keys(methods).join(', ') })
        : new HttpError(404, 'not_found', `No route ${path}.`));
      return;
    }
    try {
      const done = handler(req, res, { requestId, log: hlog });
      if (done) done.then(finish, fail);
      else finish();
    } catch (e) {
      fail(e);
    }
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
