import type { Queue } from 'bullmq';
import { metricsRegistry, metricsText, queueDepth } from '../../observability/metrics.js';
import type { Handler } from '../server.js';
import { within } from '../within.js';

/** What /metrics needs of a BullMQ queue. */
export type QueueLike = Pick<Queue, 'name' | 'getJobCounts'>;

const STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;

/** `GET /metrics`: Prometheus text; queue depths are read from Redis at scrape time. */
export function metricsRoute(queues: QueueLike[]): Handler {
  return async (_req, res, { requestId }) => {
    await Promise.all(
      queues.map(async (q) => {
        const counts = await within(1_000, () => q.getJobCounts(...STATES), undefined);
        for (const state of STATES) {
          // Redis down or slow: drop the series rather than report a stale depth (/readyz says why).
          if (counts) queueDepth.set({ queue: q.name, state }, counts[state] ?? 0);
          else queueDepth.remove({ queue: q.name, state });
        }
      }),
    );
    const text = await metricsText();
    res.writeHead(200, { 'x-request-id': requestId, 'content-type': metricsRegistry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
}
