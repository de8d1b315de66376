import { collectDefaultMetrics, Counter, Gauge, type Histogram, Registry } from 'prom-client';

/**
 * Keywarden's Prometheus metrics, on a registry of their own (not prom-client's global one,
 * so importing this module never touches another library's metrics). Importing only
 * defines them; `GET /metrics` serves `metricsRegistry`. The HTTP server and the jobs both import from here (jobs never import src/http).
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

/** One label set of a FastHistogram: counts per bucket (not cumulative), sum and count. */
export class HistogramSeries {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labels: Record<string, string>, private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram for a hot path. prom-client's own `observe()` builds a label object,
 * validates and hashes it and writes through a string-keyed map on every call (about 1 µs);
 * here a bound series' `observe()` is a bucket search and three additions. It registers like
 * a prom-client metric and exports exactly what prom-client's Histogram would for the same
 * observations (a unit test compares the two texts).
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    this.bounds = Float64Array.from(buckets);
    if (this.bounds.some((b, i) => i > 0 && b <= this.bounds[i - 1]!)) throw new Error(`${name}: buckets must increase`);
    // The registry reads name, help, type, aggregator and get(): the contract of its metrics.
    registry.registerMetric(this as unknown as Histogram);
  }

  /** The series for these label values (in labelNames order); bind once, keep it. */
  labels(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values`);
      s = new HistogramSeries(Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]!])), this.bounds);
      this.series.set(key, s);
    }
    return s;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /**
   * What the registry prints: per series, the cumulative `_bucket` lines, then `_sum` and
   * `_count`, with the series' labels as "shared" labels after `le` (prom-client's layout).
   */
  async getForPromString(): Promise<HistogramExport> {
    const values: HistogramValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_bucket`, exemplar: null },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The same with each value's labels merged (what `getMetricsAsJSON()` shows). */
  async get(): Promise<HistogramExport> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }
}

type HistogramValue = { labels: Record<string, string | number>; sharedLabels?: Record<string, string>; value: number; metricName: string; exemplar?: null };
type HistogramExport = { name: string; help: string; type: 'histogram'; values: HistogramValue[]; aggregator: 'sum' };

/** Service time of POST /v1/keys/verify, from the request's arrival to the last byte written. */
export const verifyDuration = new FastHistogram(
  'keywarden_verify_duration_seconds',
  'Service time of POST /v1/keys/verify.',
  ['source'],
  [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  metricsRegistry,
);

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
