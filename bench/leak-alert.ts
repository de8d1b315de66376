// GitHub secret-scanning alert → last dependent notified: a signed alert with 1 and with 100
// live tokens (each key with BENCH_LEAK_DEPENDENTS dependents, default 2) POSTed to the
// public server; the time until GitHub has its answer (every key revoked) and until the last
// dependent's webhook arrived, in one process (API, workers) on loopback receivers.
//   npx tsx bench/leak-alert.ts   (or `npm run bench -- leak-alert`; MONGODB_URI and REDIS_URL
//   like the tests, unset: started for the run)
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createRevocationPublisher, startWorkers } from '../jobs/index.js';
import { LIFE, REVOCATIONS, WEBHOOKS } from '../jobs/queues.js';
import { loadConfig, withExternalServices } from '../src/config/env.js';
import { createCore } from '../src/core.js';
import { createPublicServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { connectMongo } from '../src/store/mongo.js';
import { postAlert, scanningKey, signedBy, startFakeGithub } from '../test/support/fake-github.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { benchEnv, ensureBenchServices } from './services.js';

const DEPENDENTS = Number(process.env.BENCH_LEAK_DEPENDENTS ?? 2);
const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;

export async function main(): Promise<void> {
  const dbName = `kw_bench_leak_${randomUUID().slice(0, 8)}`;
  const ghKey = scanningKey();
  const [mongo, slack, gh] = await Promise.all([connectMongo(benchEnv().MONGODB_URI, { dbName }), startFakeSlack(), startFakeGithub([ghKey])]);
  const firstHit = new Map<string, number>();
  const recv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (!firstHit.has(req.url ?? '/')) firstHit.set(req.url ?? '/', performance.now());
      res.writeHead(200).end('ok');
    });
  });
  recv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => recv.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(recv.address() as AddressInfo).port}`;
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
      GITHUB_SECRET_SCANNING_KEYS_URL: gh.url,
    }),
    'bench',
  );
  const core = createCore(config, createLogger(config.LOG_LEVEL), mongo);
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked, publisher.onRevokedMany);
  const workers = await startWorkers(core);
  const server = createPublicServer(core, {});
  const base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  const admin = { communityId: 'T0BENCH', userId: 'UBENCH1' };
  try {
    // The keys are fetched on the first alert; a warm-up alert keeps that out of the figures.
    const warm = JSON.stringify([{ token: 'kw_nothing', type: 'keywarden_api_key', url: 'https://github.com/x' }]);
    await postAlert(base, warm, signedBy(ghKey, warm));
    console.log(`GitHub alert → last dependent notified; ${DEPENDENTS} dependents per key, one process (API + workers), loopback receivers`);
    for (const n of [1, 100]) {
      const tokens: string[] = [];
      const paths: string[] = [];
      const createdAt = new Date();
      const dependents = [];
      for (let i = 0; i < n; i++) {
        const { key, token } = await core.keys.create(admin, {
          name: `Leaky ${n}-${i}`,
          description: 'Committed to a public repository',
          roles: ['ic_viewer'],
        });
        tokens.push(token);
        for (let d = 0; d < DEPENDENTS; d++) {
          const path = `/n${n}/k${i}/d${d}`;
          paths.push(path);
          dependents.push({
            communityId: admin.communityId,
            dependentId: `dep_b${n}x${i}x${d}`,
            keyId: key.keyId,
            kind: 'playbook',
            name: `dependent ${d} of ${i}`,
            webhookUrl: `${origin}${path}`,
            signingSecret: `whsec_${randomBytes(24).toString('base64')}`,
            status: 'active',
            createdBy: admin.userId,
            createdAt,
          });
        }
      }
      await mongo.models.dependents.insertMany(dependents);
      const alert = JSON.stringify(
        tokens.map((token) => ({ token, type: 'keywarden_api_key', url: 'https://github.com/acme/app/blob/main/.env', source: 'content' })),
      );
      const headers = signedBy(ghKey, alert);
      const t0 = performance.now();
      const res = await postAlert(base, alert, headers);
      const answered = performance.now();
      if (res.status !== 200 || (res.json as Array<{ label: string }>).filter((f) => f.label === 'true_positive').length !== n)
        throw new Error(`alert answered ${res.status}`);
      const deadline = Date.now() + 120_000;
      while (!paths.every((p) => firstHit.has(p))) {
        if (Date.now() > deadline) throw new Error(`${paths.length} dependents not notified within 120 s`);
        await new Promise((r) => setTimeout(r, 2));
      }
      const last = Math.max(...paths.map((p) => firstHit.get(p)!));
      console.log(
        `${String(n).padStart(3)} token${n === 1 ? ' ' : 's'}: POST answered (all revoked) ${fmt(answered - t0)}   last of ${String(paths.length).padStart(3)} dependents notified ${fmt(last - t0)}`,
      );
    }
  } finally {
    await server.close();
    await workers.close();
    await publisher.close();
    await core.close();
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
    for (const name of [REVOCATIONS, WEBHOOKS, LIFE]) {
      const q = new Queue(name, { connection, prefix: config.QUEUE_PREFIX });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    connection.disconnect();
    await mongo.conn.dropDatabase().catch(() => undefined);
    await mongo.close();
    await Promise.all([slack.close(), gh.close()]);
    recv.closeAllConnections();
    recv.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stopServices = await ensureBenchServices();
  await main();
  await stopServices();
  process.exit(0);
}
