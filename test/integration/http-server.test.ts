import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiServer } from '../../src/http/server.js';
import { webhookOutcomes } from '../../src/observability/metrics.js';
import type { QueueLike } from '../../src/http/routes/metrics.js';
import { json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

let app: VerifyApp;
beforeAll(async () => {
  app = await startVerifyApp({ SHUTDOWN_GRACE_MS: '2000' });
});
afterAll(async () => {
  await app?.close();
});

const queue = (name: string, counts: Record<string, number>): QueueLike => ({
  name,
  getJobCounts: async () => counts,
});

describe('GET /metrics with queues', () => {
  it('reports queue depths read at scrape time and webhook outcomes', async () => {
    const http = createApiServer(app.core, {
      verifier: app.verifier,
      queues: { revocations: queue('revocations', { waiting: 3, active: 1 }), webhooks: queue('webhooks', { waiting: 7, delayed: 2, failed: 1 }) },
    });
    const port = await http.listen(0);
    try {
      webhookOutcomes.inc({ outcome: 'delivered' });
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('keywarden_queue_jobs{queue="revocations",state="waiting"} 3');
      expect(text).toContain('keywarden_queue_jobs{queue="webhooks",state="delayed"} 2');
      expect(text).toContain('keywarden_queue_jobs{queue="webhooks",state="failed"} 1');
      expect(text).toMatch(/keywarden_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
    } finally {
      await http.close();
    }
  });

  it('a queue that cannot answer drops its series instead of failing the scrape', async () => {
    const broken: QueueLike = { name: 'webhooks', getJobCounts: () => new Promise(() => undefined) };
    const http = createApiServer(app.core, { verifier: app.verifier, queues: { revocations: queue('revocations', { waiting: 0 }), webhooks: broken } });
    const port = await http.listen(0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain('keywarden_queue_jobs{queue="webhooks"');
    } finally {
      await http.close();
    }
  });
});

describe('close()', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const { token } = await app.createKey();
    const http = createApiServer(app.core, { verifier: app.verifier });
    const port = await http.listen(0);
    let entered!: () => void;
    const handling = new Promise<void>((r) => (entered = r));
    const slow = vi.spyOn(app.core.keys, 'verify').mockImplementationOnce(async (t) => {
      entered();
      await new Promise((r) => setTimeout(r, 300));
      slow.mockRestore();
      return app.core.keys.verify(t);
    });
    const inFlight = fetch(`http://127.0.0.1:${port}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: token }),
    });
    // Close once the server is handling the request (a fixed sleep could close before it
    // arrived on a loaded machine: then it was never in flight and is rightly cut).
    await handling;
    const closed = http.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ valid: true });
    await closed;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
