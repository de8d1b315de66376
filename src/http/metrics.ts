import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Keywarden's Prometheus metrics, on a registry of their own (not prom-client's global one,
 * so importing this module never touches another library's metrics). Importing only
 * defines them; `GET /metrics` serves `metricsRegistry`. Jobs import `webhookOutcomes`.
 */
export const metricsRegistry = new Registry();

/**
 * One counter series on a hot path. prom-client re-hashes the labels on every `inc()`, even
 * of a bound child (about 0.3 µs each); here an increment is a field bump, and the sum is
 * added to the counter whenever it is read (`collect`, i.e. at each scrape or `get()`), so
 * what /metrics reports is the same.
 */
export class CountSeries {
  pending = 0;
  constructor(readonly child: Counter.Internal) {}
  inc(): void {
    this.pending++;
  }
  flush(): void {
    if (this.pending === 0) return;
    const n = this.pending;
    this.pending = 0;
    this.child.inc(n);
  }
}

const seriesOf = new WeakMap<object, CountSeries[]>();
function flushSeries(this: object): void {
  for (const s of seriesOf.get(this) ?? []) s.flush();
}

/** A CountSeries of `counter` for these label values (bind once, keep it). */
export function countSeries<T extends string>(counter: Counter<T>, ...values: string[]): CountSeries {
  const s = new CountSeries(counter.labels(...values));
  let list = seriesOf.get(counter);
  if (!list) seriesOf.set(counter, (list = []));
  list.push(s);
  return s;
}

/** Verifications answered, by result and by where the answer came from. */
export const verifyRequests = new Counter({
  name: 'keywarden_verify_requests_total',
  help: 'Key verifications answered, by result (valid, malformed, unknown, revoked) and source (format, cache, store).',
  labelNames: ['result', 'source'] as const,
  registers: [metricsRegistry],
  collect: flushSeries,
});

/** Service time of POST /v1/keys/verify, from the request's arrival to the last byte written. */
export const verifyDuration = new Histogram({
  name: 'keywarden_verify_duration_seconds',
  help: 'Service time of POST /v1/keys/verify.',
  labelNames: ['source'] as const,
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [metricsRegistry],
});

/** HTTP answers by route and status (every route, errors included). */
export const httpResponses = new Counter({
  name: 'keywarden_http_responses_total',
  help: 'HTTP responses by route and status code.',
  labelNames: ['route', 'status'] as const,
  registers: [metricsRegistry],
  collect: flushSeries,
});

/** Jobs waiting/active/delayed/failed per BullMQ queue, read at scrape time. */
export const queueDepth = new Gauge({
  name: 'keywarden_queue_jobs',
  help: 'Jobs in each BullMQ queue by state, read when /metrics is scraped.',
  labelNames: ['queue', 'state'] as const,
  registers: [metricsRegistry],
});

/**
 * Webhook delivery attempts by outcome. The webhooks processor increments it:
 * `delivered` (2xx), `retrying` (will try again), `failed` (gave up), `gone` (410, stop).
 */
export const webhookOutcomes = new Counter({
  name: 'keywarden_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome (delivered, retrying, failed, gone).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

let defaultsOn = false;
/** Process metrics (CPU, memory, event-loop lag); started by the first server, not on import. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'keywarden_' });
}
