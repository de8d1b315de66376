import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readText } from '../body.js';
import { HttpError, sendPreserialised } from '../errors.js';
import { verifyDuration, verifyRequests, type CountSeries, type HistogramSeries } from '../../observability/metrics.js';
import { clientOf } from '../miss-limiter.js';
import { verifyRequest } from '../schemas.js';
import type { Handler } from '../server.js';
import type { Verifier, VerifyOutcome, VerifySource } from '../verifier.js';

// crypto.hash (one-shot, Node ≥ 20.12) is over twice as fast as createHash for short input.
const digest = (s: string) => hash('sha256', s, 'buffer');

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

const NOT_JSON = 'Body must be JSON: {"key": "<token>"}.';
const BAD_SHAPE = 'Body must be {"key": "<token>"} with key a string.';

/** The metric series of one kind of answer, bound once (label lookups cost more than the increments). */
interface Series {
  count: CountSeries;
  latency: HistogramSeries;
}

class VerifyMetrics {
  private readonly bySource: Record<VerifySource, Map<string, Series>> = { format: new Map(), cache: new Map(), store: new Map() };
  /** The series of the most common answer, a cached `valid`, bound on first use. */
  private cachedValid: Series | undefined;

  observe(outcome: VerifyOutcome, seconds: number): void {
    const series = outcome.source === 'cache' && outcome.body.valid ? (this.cachedValid ??= this.seriesOf(outcome)) : this.seriesOf(outcome);
    series.count.inc();
    series.latency.observe(seconds);
  }

  private seriesOf(outcome: VerifyOutcome): Series {
    const result = outcome.body.valid ? 'valid' : outcome.body.reason;
    const bound = this.bySource[outcome.source];
    let series = bound.get(result);
    if (!series) {
      series = { count: verifyRequests.bind(result, outcome.source), latency: verifyDuration.labels(outcome.source) };
      bound.set(result, series);
    }
    return series;
  }
}

/**
 * `POST /v1/keys/verify`. Order: bearer (no body is read for strangers), Content-Type,
 * size, JSON, shape. Every refusal is a 400 except those of the bearer (401) and the size
 * (413); a wrong Content-Type is a 400 too (not 415): README "HTTP API" promises 400 for
 * any body that is not `{"key": "<token>"}` as JSON.
 */
export function verifyRoute(verifier: Verifier, verifyToken: string | undefined, clientHeader?: string): Handler {
  const checkBearer = bearerCheck(verifyToken);
  const metrics = new VerifyMetrics();
  return async function verify(req, res, { requestId }) {
    const started = performance.now();
    checkBearer(req);
    const type = req.headers['content-type'];
    if (type !== 'application/json' && !JSON_TYPE.test(type ?? '')) {
      throw new HttpError(400, 'invalid_request', 'Content-Type must be application/json.');
    }
    const text = await readText(req);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'invalid_request', NOT_JSON);
    }
    const parsed = verifyRequest.safeParse(json);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', BAD_SHAPE);
    const key = parsed.data.key;
    // Most answers are cache hits, known without I/O.
    const outcome = verifier.answerNow(key, started) ?? (await verifier.verify(key, started, clientOf(req, clientHeader)));
    sendPreserialised(res, 200, outcome.json, outcome.length, requestId);
    metrics.observe(outcome, (performance.now() - started) / 1000);
  };
}
