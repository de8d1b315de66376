// Revocation fan-out: one key with N dependents (default 1,000) on local receivers; the time
// from the revoke call returning to the last dependent being notified, and deliveries per
// second, next to a baseline of the same N signed POSTs sent directly with fetch at the same
// concurrency, in the same run.
//   npx tsx bench/revocation-fanout.ts   (MONGODB_URI and REDIS_URL like the tests;
//   BENCH_DEPENDENTS=N to change the size)
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createRevocationPublisher, startWorkers } from '../jobs/index.js';
import { REVOCATIONS, WEBHOOKS } from '../jobs/queues.js';
import { revokedEvent, signedHeaders } from '../jobs/webhooks.js';
import { loadConfig, withExternalServices } from '../src/config/env.js';
import { benchEnv, ensureBenchServices } from './services.js';
import { createCore } from '../src/core.js';
import { createLogger } from '../src/log.js';
import { connectMongo } from '../src/store/mongo.js';
import { startFakeSlack } from '../test/support/fake-slack.js';

const N = Number(process.env.BENCH_DEPENDENTS ?? 1_000);

/** A loopback server answering 200 on every path, noting when each path was first hit. */
async function receiver(): Promise<{ server: Server; origin: string; firstHit: Map<string, number>; hits: () => number; reset(): void }> {
  const firstHit = new Map<string, number>();
  let hits = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      const path = req.url ?? '/';
      if (!firstHit.has(path)) firstHit.set(path, performance.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    origin,
    firstHit,
    hits: () => hits,
    reset: () => {
      firstHit.clear();
      hits = 0;
    },
  };
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The same N signed POSTs, straight from fetch, `concurrency` at a time. */
async function baseline(urls: string[], body: string, secret: string, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signedHeaders(secret, `msg_${randomUUID()}`, body) },
          body,
        });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`baseline POST ${url}: ${res.status}`);
      }
    }),
  );
  return performance.now() - started;
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
const rate = (n: number, ms: number) => `${((n * 1000) / ms).toFixed(0).padStart(6)} deliveries/s`;

export async function main(): Promise<void> {
  const dbName = `kw_bench_fanout_${randomUUID().slice(0, 8)}`;
  const [mongo, slack, recv] = await Promise.all([connectMongo(benchEnv().MONGODB_URI, { dbName }), startFakeSlack(), receiver()]);
  const config = withExternalServices(
    loadConfig({
      ...benchEnv(),
      SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: slack.url,
      ADMIN_SLACK_USER_IDS: 'UBENCH1',
      NOTIFY_CHANNEL_ID: 'C0BENCH',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      QUEUE_PREFIX: `bench-${randomUUID()}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...(process.env.WEBHOOK_CONCURRENCY ? { WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY } : {}),
    }),
    'bench',
  );
  const core = createCore(config, createLogger(config.LOG_LEVEL), mongo);
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked);
  const workers = await startWorkers(core);
  try {
    const admin = { communityId: 'T0BENCH', userId: 'UBENCH1' };
    const { key } = await core.keys.create(admin, { name: 'Bench key', description: 'Fanned out to many dependents', roles: ['ic_viewer'] });
    const urls = Array.from({ length: N }, (_, i) => `${recv.origin}/d/${i}`);
    // Linked in bulk: link() one by one would measure MongoDB, not the fan-out.
    const createdAt = new Date();
    await mongo.models.dependents.insertMany(
      urls.map((url, i) => ({
        communityId: admin.communityId,
        dependentId: `dep_bench${String(i).padStart(5, '0')}`,
        keyId: key.keyId,
        kind: 'playbook',
        name: `bench dependent ${i}`,
        webhookUrl: url,
        signingSecret: `whsec_${randomBytes(24).toString('base64')}`,
        status: 'active',
        createdBy: admin.userId,
        createdAt,
      })),
    );

    const body = JSON.stringify(revokedEvent({ ...key, status: 'revoked', revokedAt: new Date(), revokedBy: admin.userId }));
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    await baseline(urls.slice(0, 100), body, secret, config.WEBHOOK_CONCURRENCY); // warm-up
    recv.reset();
    const baseMs = await baseline(urls, body, secret, config.WEBHOOK_CONCURRENCY);
    recv.reset();

    const t0 = performance.now();
    await core.keys.revoke(admin, key.keyId);
    const returned = performance.now();
    await waitFor(() => recv.firstHit.size >= N, 300_000, `${N} dependents notified`);
    const last = Math.max(...recv.firstHit.values());
    const first = Math.min(...recv.firstHit.values());
    await waitFor(async () => (await core.keyRepo.findByKeyId(key.keyId))?.notification.state === 'done', 300_000, 'notification done');
    const done = performance.now();
    const fanMs = last - returned;

    console.log(`${N} dependents on one loopback receiver; webhook concurrency ${config.WEBHOOK_CONCURRENCY} per worker, one worker process`);
    console.log(`baseline: fetch, signed, concurrency ${config.WEBHOOK_CONCURRENCY}     ${fmt(baseMs)}  ${rate(N, baseMs)}`);
    console.log(`keywarden: revoke returned → last dependent notified ${fmt(fanMs)}  ${rate(N, fanMs)}`);
    console.log(`  revoke call itself                           ${fmt(returned - t0)}`);
    console.log(`  revoke returned → first dependent notified   ${fmt(first - returned)}  (enqueue + fan-out: deliveries created, jobs added)`);
    console.log(`  revoke returned → all deliveries recorded    ${fmt(done - returned)}`);
    console.log(`  requests received ${recv.hits()} for ${N} dependents (duplicates: ${recv.hits() - N})`);
    console.log(`ratio keywarden / baseline: ${(fanMs / baseMs).toFixed(1)}x`);
  } finally {
    await workers.close();
    await publisher.close();
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
    for (const name of [REVOCATIONS, WEBHOOKS]) {
      const q = new Queue(name, { connection, prefix: config.QUEUE_PREFIX });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    connection.disconnect();
    await mongo.conn.dropDatabase().catch(() => undefined);
    await mongo.close();
    await slack.close();
    recv.server.closeAllConnections();
    recv.server.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stopServices = await ensureBenchServices();
  await main();
  await stopServices();
  process.exit(0);
}
