import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { bodyPending, endAfterLinger } from './linger.js';
import type { ErrorResponse, HttpErrorCode } from './schemas.js';

/** An expected HTTP failure: a status and a code the client can switch on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fresh request ids: UUID-shaped, a random part drawn once per process (and again when the
 * counter would wrap) and a 48-bit counter, so ids are unique without a randomUUID() per
 * request. Request ids correlate logs; they are not secrets.
 */
let idBase = '';
let idCount = 0;
const ID_COUNT_MAX = 2 ** 48;
function freshRequestId(): string {
  if (idBase === '' || idCount >= ID_COUNT_MAX) {
    idBase = randomUUID().slice(0, 24);
    idCount = 0;
  }
  const n = (idCount++).toString(16);
  return idBase + '000000000000'.slice(n.length) + n;
}

/** The caller's `x-request-id` when it is a sane token, else a fresh one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : freshRequestId();
}

/** Writes a JSON body with its length (no chunked encoding for small answers) and the request id. */
export function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), requestId, headers);
}

/** sendJson for a body already serialised. */
export function sendJsonText(res: ServerResponse, status: number, payload: string, requestId: string, headers: Record<string, string> = {}): void {
  writeJsonHead(res, status, payload, requestId, headers);
  res.end(payload);
}

function writeJsonHead(res: ServerResponse, status: number, payload: string, requestId: string, headers: Record<string, string>): void {
  res.writeHead(status, {
    ...headers,
    'x-request-id': requestId,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
}

/**
 * Answers a request whose body is still arriving (refused before it was read: too large,
 * too slow, or a wrong bearer): the whole answer now with `Connection: close`, then the
 * connection closes only once the client has stopped sending or a bound is reached, so
 * that the client reads the answer instead of a connection reset.
 */
export function sendJsonBeforeBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  payload: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  writeJsonHead(res, status, payload, requestId, { ...headers, connection: 'close' });
  res.write(payload);
  endAfterLinger(req, res);
}

/**
 * Answers with a body serialised once and kept (the verify API's cached answers), `length`
 * being its UTF-8 length as text. The headers go to writeHead as one flat array (no object
 * to spread or enumerate); no Cache-Control: this answers POSTs, which no cache stores
 * without explicit freshness (RFC 9111 §3).
 */
export function sendPreserialised(res: ServerResponse, status: number, payload: string, length: string, requestId: string): void {
  res.writeHead(status, ['x-request-id', requestId, 'content-type', 'application/json; charset=utf-8', 'content-length', length]);
  res.end(payload);
}

/**
 * The one place an error becomes an answer: `{error:{code,message,requestId}}`. Anything but
 * an HttpError is unexpected (the routes of this API make none of the domain's KeyErrors):
 * logged with the request id and answered 500 without its message.
 */
export function sendError(res: ServerResponse, err: unknown, requestId: string, log: Logger): void {
  let status = 500;
  let code: HttpErrorCode = 'internal';
  let message = 'Internal error.';
  let headers: Record<string, string> = {};
  if (err instanceof HttpError) {
    ({ status, code, message, headers } = err);
  } else {
    log.error({ requestId, err }, 'unhandled error in http request');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: ErrorResponse = { error: { code, message, requestId } };
  if (bodyPending(res.req)) sendJsonBeforeBody(res.req, res, status, JSON.stringify(body), requestId, headers);
  else sendJson(res, status, body, requestId, headers);
}
