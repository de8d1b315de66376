import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Counter, Histogram } from 'prom-client';
import { HttpError, sendJsonText } from '../errors.js';
import { readBody } from '../body.js';
import { verifyDuration, verifyRequests } from '../metrics.js';
import { verifyRequest } from '../schemas.js';
import type { Verifier, VerifySource } from '../verifier.js';
import type { Handler } from '../server.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Compares the Authorization header with `Bearer <token>` in constant time: both sides are
 * hashed first, so neither the token's length nor a matching prefix shows in the timing.
 */
export function bearerCheck(token: string | undefined): (req: IncomingMessage) => void {
  if (!token) return () => undefined;
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const ok = timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
    if (!ok) {
      throw new HttpError(401, 'unauthorized', header ? 'Wrong bearer token.' : 'Missing Authorization: Bearer <VERIFY_TOKEN>.', {
        'www-authenticate': 'Bearer realm="keywarden"',
      });
    }
  };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * `POST /v1/keys/verify`. Order: bearer (no body is read for strangers), Content-Type,
 * size, JSON, shape. Every refusal is a 400 except those of the bearer (401) and the size
 * (413); a wrong Content-Type is a 400 too (not 415), as DESIGN.md promises 400 for any
 * body that is not `{"key": "<token>"}` as JSON.
 */
export function verifyRoute(verifier: Verifier, verifyToken: string | undefined): Handler {
  const checkBearer = bearerCheck(verifyToken);
  // Label lookups cost more than the increments on this path: bind each series once.
  const bound = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<'source'> }>();
  const series = (result: string, source: VerifySource) => {
    const k = `${result}|${source}`;
    let m = bound.get(k);
    if (!m) bound.set(k, (m = { count: verifyRequests.labels(result, source), latency: verifyDuration.labels(source) }));
    return m;
  };
  return async (req, res) => {
    const started = performance.now();
    checkBearer(req);
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      throw new HttpError(400, 'invalid_request', 'Content-Type must be application/json.');
    }
    const raw = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'invalid_request', 'Body must be JSON: {"key": "<token>"}.');
    }
    const parsed = verifyRequest.safeParse(json);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', 'Body must be {"key": "<token>"} with key a string.');

    const { body, json: text, source } = await verifier.verify(parsed.data.key);
    sendJsonText(res, 200, text);
    const m = series(body.valid ? 'valid' : body.reason, source);
    m.count.inc();
    m.latency.observe((performance.now() - started) / 1000);
  };
}
