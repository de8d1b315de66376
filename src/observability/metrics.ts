import { collectDefaultMetrics, Counter, Gauge, Registry, type CounterConfiguration } from 'prom-client';

/**
 * Keywarden's Prometheus metrics, on a registry of their own (not prom-client's global one,
 * so importing this module never touches another library's metrics). Importing only
 * defines them; `GET /metrics` serves `metricsRegistry`. The HTTP server and the jobs both import from here (jobs never import src/http).
 */
export const metricsRegistry = new Registry();

/**
 * One counter series on a hot path. prom-client re-hashes the labels on every `inc()`, even
 * of a bound child (about 0.3 µs each); here an increment is a field bump, and the sum is
 * added to the counter whenever it is read (see FastCounter), so /metrics reports the same.
 */
export class CountSeries {
  private pending = 0;
  constructor(private readonly child: Counter.Internal) {}
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

/** A prom-client Counter whose hot-path series are CountSeries, flushed by its `collect` hook. */
export class FastCounter<T extends string> {
  readonly counter: Counter<T>;
  private readonly series: CountSeries[] = [];

  constructor(config: CounterConfiguration<T>) {
    const series = this.series;
    this.counter = new Counter({
      ...config,
      collect() {
        for (const s of series) s.flush();
      },
    });
  }

  /** The series of these label values (in labelNames order); bind once, keep it. */
  bind(...values: string[]): CountSeries {
    const s = new CountSeries(this.counter.labels(...values));
    this.series.push(s);
    return s;
  }
}

/** Verifications answered, by result and by where the answer came from. */
export const verifyRequests = new FastCounter({
  name: 'keywarden_verify_requests_total',
  help: 'Key verifications answered, by result (valid, malformed, unknown, revoked) and source (format, cache, store).',
  labelNames: ['result', 'source'] as const,
  registers: [metricsRegistry],
});

/** One label set of a FastHistogram: counts per bucket (not cumulative), sum and count. */
export class HistogramSeries {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: Float64Array,
  ) {
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
 * here a bound series' `observe()` is a bucket search and three additions. prom-client has
 * no public way to register such a metric, so it is not in the registry: it writes its own
 * exposition text, exactly what prom-client's Histogram prints for the same observations (a
 * unit test compares the two), and metricsText() appends it to the registry's.
 */
export class FastHistogram {
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    this.bounds = Float64Array.from(buckets);
    if (this.bounds.some((b, i) => i > 0 && b <= this.bounds[i - 1]!)) throw new Error(`${name}: buckets must increase`);
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
   * The Prometheus text (format 0.0.4) prom-client prints for a Histogram: HELP, TYPE, then
   * per series the cumulative `_bucket` lines with `le` first, `_sum` and `_count`.
   */
  exposition(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `,${k}="${escapeLabel(v)}"`)
        .join('');
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i]!;
        lines.push(`${this.name}_bucket{le="${le}"${labels}} ${acc}`);
      });
      lines.push(`${this.name}_bucket{le="+Inf"${labels}} ${s.count}`);
      const plain = labels ? `{${labels.slice(1)}}` : '';
      lines.push(`${this.name}_sum${plain} ${s.sum}`, `${this.name}_count${plain} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** What GET /metrics serves: the registry's metrics, then the FastHistograms'. */
export async function metricsText(): Promise<string> {
  const text = await metricsRegistry.metrics();
  return `${text}\n${verifyDuration.exposition()}`;
}

/** Service time of POST /v1/keys/verify, from the request's arrival to the last byte written. */
export const verifyDuration = new FastHistogram(
  'keywarden_verify_duration_seconds',
  'Service time of POST /v1/keys/verify.',
  ['source'],
  [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
);

/** HTTP answers by route and status (every route, errors included). */
export const httpResponses = new FastCounter({
  name: 'keywarden_http_responses_total',
  help: 'HTTP responses by route and status code.',
  labelNames: ['route', 'status'] as const,
  registers: [metricsRegistry],
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
