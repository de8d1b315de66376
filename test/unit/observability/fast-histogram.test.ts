import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../../src/observability/metrics.js';

const buckets = [0.0001, 0.00025, 0.001, 0.01, 0.1, 1];
const help = 'Service time.';

/** A registry with prom-client's Histogram and one of ours, fed the same values. */
function pair() {
  const theirs = new Registry();
  const reference = new Histogram({ name: 'svc_seconds', help, labelNames: ['source'], buckets, registers: [theirs] });
  const fast = new FastHistogram('svc_seconds', help, ['source'], buckets);
  return { theirs, reference, fast };
}

describe('FastHistogram', () => {
  it("exports exactly what prom-client's Histogram exports for the same observations", async () => {
    const { theirs, reference, fast } = pair();
    // Values on the bounds, between them, below the first and above the last.
    const values: [string, number][] = [
      ['cache', 0.00005],
      ['cache', 0.0001],
      ['cache', 0.0002],
      ['cache', 0.00025],
      ['cache', 0.0009],
      ['store', 0.005],
      ['store', 0.01],
      ['store', 0.5],
      ['store', 1],
      ['store', 3.5],
      ['format', 0],
    ];
    const bound = new Map<string, ReturnType<FastHistogram['labels']>>();
    for (const [source, v] of values) {
      reference.labels(source).observe(v);
      if (!bound.has(source)) bound.set(source, fast.labels(source));
      bound.get(source)!.observe(v);
    }
    const text = fast.exposition();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('svc_seconds_bucket{le="0.00025",source="cache"} 4');
    expect(text).toContain('svc_seconds_bucket{le="+Inf",source="store"} 5');
    expect(text).toContain('svc_seconds_count{source="format"} 1');
  });

  it('binds one series per label value and starts from zero again after reset', async () => {
    const { fast } = pair();
    expect(fast.labels('cache')).toBe(fast.labels('cache'));
    fast.labels('cache').observe(0.002);
    fast.reset();
    expect(fast.exposition()).toContain('svc_seconds_count{source="cache"} 0');
  });

  it('refuses buckets that do not increase and a wrong number of label values', () => {
    expect(() => new FastHistogram('bad_seconds', help, [], [0.1, 0.1])).toThrow(/increase/);
    const { fast } = pair();
    expect(() => fast.labels('a', 'b')).toThrow(/1 label values/);
  });
});
