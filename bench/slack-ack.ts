// Slash-command ack time in a workspace of 10,000 keys, and the list queries behind it.
//   1. 10,000 keys are inserted straight through the store's model (insertMany: seconds, not
//      10,000 creates); every 10th revoked, every 7th expired, 20 creators, searchable names;
//      4 in 5 with a usage document (lastUsedAt).
//      Being writes around the repository, they are followed by KeyDirectory.invalidate (what
//      a bulk import does), so every key directory reloads the workspace at its next list.
//   2. The first list (which loads the key directory: one read of the workspace), the heap
//      it holds per key, then each list filter (all, active, revoked, expired, by creator,
//      search text) through `KeyService.list`, one at a time on a quiet database, next to a
//      read of one key by `_id` (the one query every MongoDB-compatible server answers from an
//      index) and to the database query the directory replaces (KeyRepository without a
//      directory, fewer samples: seconds each on FerretDB), with how the server runs that
//      query (FerretDB's explain says whether it pushed the filter down; MongoDB's plan names
//      the index). Then lists each after a key was revoked (the change log read, that key
//      read again).
//   3. Signed `/apikey help` then `/apikey list`, 10 at a time, against the Slack app in this
//      process, next to the same requests to a bare node:http server that answers 200 at
//      once, all in the same run. Slack's side — the client and the fake Slack Web API that
//      receives the answers — runs in a worker thread of its own (bench/slack-peer.ts), as
//      Slack is remote in production. The ack is the HTTP 200 from /slack/events; also
//      printed: arrival → ack inside the app, and the app thread's event-loop delay.
//   npm run bench -- slack-ack      (MONGODB_URI and REDIS_URL like the tests; unset: started for the run)
//   BENCH_KEYS, BENCH_ACK_REQUESTS, BENCH_LIST_SAMPLES, BENCH_DB_SAMPLES change the sizes.
//   The load average is printed at the start and the end (other work on the machine).
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadConfig, withExternalServices } from '../src/config/env.js';
import { benchEnv, ensureBenchServices } from './services.js';
import { createCore, type Core } from '../src/core.js';
import type { ListQuery } from '../src/keys/key-record.js';
import type { ListOptions } from '../src/keys/key-service.js';
import { createLogger } from '../src/log.js';
import { createSlackApp } from '../src/slack/app.js';
import { KeyRepository } from '../src/store/key-repository.js';
import { connectMongo, type Mongo } from '../src/store/mongo.js';
import type { PeerCommand } from './slack-peer.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_ACK_REQUESTS ?? 100);
const LIST_SAMPLES = Number(process.env.BENCH_LIST_SAMPLES ?? 20);
const DB_SAMPLES = Number(process.env.BENCH_DB_SAMPLES ?? 3);
const CONCURRENCY = 10;
const ADMIN = 'UADMIN1';
const COMMUNITY = 'T0TEST';
const SECRET = 'bench-signing-secret-0123456789';
const CREATORS = Array.from({ length: 20 }, (_, i) => (i === 0 ? ADMIN : `UBENCH${String(i).padStart(2, '0')}`));
const TOPICS = ['phishing', 'misp', 'soar', 'edr', 'siem', 'intel', 'sandbox', 'ticketing', 'vault', 'backup'];

async function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Slack's side (bench/slack-peer.ts), in a worker thread: one command at a time, answered in order. */
interface Peer {
  url: string;
  call<T>(c: PeerCommand): Promise<T>;
  close(): Promise<void>;
}

const TSX_ENTRY = `
const { workerData } = require('node:worker_threads');
import('tsx/esm/api').then(({ register }) => { register(); return import(workerData.file); });
`;

async function startPeer(): Promise<Peer> {
  // Run from the sources (tsx) or compiled beside the build (npm run bench:dist).
  const fromSources = import.meta.url.endsWith('.ts');
  const file = new URL(`./slack-peer.${fromSources ? 'ts' : 'js'}`, import.meta.url).href;
  // A worker does not inherit tsx's loader: from the sources, it registers its own first.
  const worker = fromSources
    ? new Worker(TSX_ENTRY, { eval: true, workerData: { secret: SECRET, file } })
    : new Worker(new URL(file), { workerData: { secret: SECRET } });
  const answer = async <T>(): Promise<T> => {
    const [m] = (await once(worker, 'message')) as [{ value?: T; error?: string }];
    if (m.error) throw new Error(m.error);
    return m.value as T;
  };
  const url = await answer<string>();
  let last: Promise<unknown> = Promise.resolve();
  const call = <T>(c: PeerCommand): Promise<T> => {
    const p = last.then(() => {
      worker.postMessage(c);
      return answer<T>();
    });
    last = p.catch(() => undefined);
    return p;
  };
  return {
    url,
    call,
    async close() {
      await call({ cmd: 'close' });
      await worker.terminate();
    },
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Sends `count` signed `/apikey <text>`, `concurrency` at a time, from Slack's thread; returns latencies in ms, sorted. */
async function run(peer: Peer, port: number, text: string, concurrency: number, count = REQUESTS): Promise<number[]> {
  const times = await peer.call<number[]>({ cmd: 'run', port, text, userId: ADMIN, concurrency, count });
  return times.sort((a, b) => a - b);
}

const ms = (n: number) => `${n.toFixed(2).padStart(8)} ms`;
const ackRow = (name: string, t: number[], base?: number[]) =>
  `${name.padEnd(36)} p50 ${ms(pct(t, 50))}   p99 ${ms(pct(t, 99))}   max ${ms(t[t.length - 1]!)}` +
  (base ? `   p99 ×${(pct(t, 99) / pct(base, 99)).toFixed(1)} baseline` : '');

/** `count` keys of one workspace, shaped like created ones, inserted in batches through the store's model. */
async function seed(mongo: Mongo, count: number): Promise<void> {
  const now = Date.now();
  const day = 86_400_000;
  for (let start = 0; start < count; start += 1000) {
    const docs = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const topic = TOPICS[i % TOPICS.length]!;
      const createdAt = new Date(now - (count - i) * 60_000);
      const revoked = i % 10 === 3;
      const expired = !revoked && i % 7 === 5;
      docs.push({
        communityId: COMMUNITY,
        keyId: `ak_${i.toString(36).padStart(12, '0')}`,
        name: `${topic} connector ${i}`,
        description: `Bench key ${i} for the ${topic} automation`,
        roles: ['ic_viewer'],
        status: revoked ? 'revoked' : 'active',
        tokenHash: createHash('sha256').update(`bench-token-${i}`).digest('hex'),
        hint: i.toString(36).slice(-4).padStart(4, '0'),
        createdBy: CREATORS[i % CREATORS.length]!,
        createdAt,
        ...(revoked ? { revokedAt: new Date(createdAt.getTime() + day), revokedBy: ADMIN, reason: 'no_longer_used' } : {}),
        ...(expired ? { expiresAt: new Date(now - day) } : i % 3 === 0 ? { expiresAt: new Date(now + 90 * day) } : {}),
        notification: revoked ? { state: 'done', total: 0, delivered: 0, failed: 0, gone: 0 } : { state: 'none' },
        ...(revoked ? { announce: { state: 'done' } } : {}),
      });
    }
    await mongo.models.apiKeys.insertMany(docs, { ordered: false, lean: true });
    // Most keys have been used: the usage documents a page's lastUsedAt is read from.
    const usage = docs.filter((_, j) => (start + j) % 5 !== 0).map((d) => ({ _id: d.keyId, keyId: d.keyId, lastUsedAt: new Date(now - 3_600_000) }));
    await mongo.models.keyUsage.insertMany(usage, { ordered: false, lean: true });
  }
}

/** What the server says of a list filter: pushed down (FerretDB) or the index it used (MongoDB). */
async function plan(mongo: Mongo, filter: Record<string, unknown>): Promise<string> {
  const ex = (await mongo.models.apiKeys
    .find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(11)
    .explain('queryPlanner')
    .catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!ex) return '?';
  if ('filterPushdown' in ex) return `FerretDB pushdown: filter ${String(ex.filterPushdown)}, sort ${String(ex.sortPushdown)}`;
  const text = JSON.stringify(ex.queryPlanner ?? ex);
  const index = /"indexName":"([^"]+)"/.exec(text)?.[1];
  return index ? `index ${index}` : /COLLSCAN/.test(text) ? 'COLLSCAN' : 'plan unknown';
}

const loadAverage = () =>
  `${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${cpus().length} CPUs)`;

/** A full garbage collection (for the heap held per key), without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

/** The database query a list was before the directory (KeyRepository without one), as KeyService builds it. */
async function timeQuery(mongo: Mongo, opts: ListOptions, samples: number): Promise<number[]> {
  const repo = new KeyRepository(mongo.models);
  const q: ListQuery = {
    communityId: COMMUNITY,
    status: opts.status ?? 'active',
    now: new Date(),
    words: (opts.search ?? '').split(/\s+/).filter(Boolean),
    ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
    limit: 10,
  };
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    await repo.list(q);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

async function timeList(core: Core, opts: ListOptions, samples: number): Promise<number[]> {
  const actor = { communityId: COMMUNITY, userId: ADMIN };
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    await core.keys.list(actor, opts);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

export async function main(): Promise<void> {
  const peer = await startPeer();
  const dbName = `kw_bench_slack_${randomUUID().slice(0, 8)}`;
  const mongo = await connectMongo(benchEnv().MONGODB_URI, { dbName });
  const config = withExternalServices(
    loadConfig({
      ...benchEnv(),
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: peer.url,
      ADMIN_SLACK_USER_IDS: ADMIN,
      LOG_LEVEL: 'warn',
    }),
    'bench',
  );
  const core = createCore(config, createLogger('warn'), mongo);
  console.log(`load average at the start: ${loadAverage()}`);
  const seeded = Date.now();
  await seed(mongo, KEYS);
  // Writes around the repository: every replica's directory must reload the workspace.
  await core.keyDirectory.invalidate(COMMUNITY);
  console.log(`${KEYS} keys inserted in ${((Date.now() - seeded) / 1000).toFixed(1)} s (insertMany through the store's model, then the directory invalidated)`);
  await core.members.requireMember({ communityId: COMMUNITY, userId: ADMIN }, 'seed the admin');

  const slack = await createSlackApp(core, { retryConfig: { retries: 0 } });
  // Inside the process: from the request's arrival to the ack's last byte written.
  const inside: number[] = [];
  const app = await listen((req, res) => {
    const arrived = process.hrtime.bigint();
    res.on('finish', () => inside.push(Number(process.hrtime.bigint() - arrived) / 1e6));
    slack.requestListener!(req, res);
  });
  const bare = await listen((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  const drain = async (expected: number) => {
    const deadline = Date.now() + 120_000;
    while ((await peer.call<number>({ cmd: 'responds' })) < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return peer.call<number>({ cmd: 'responds' });
  };

  try {
    // The list queries first, on a quiet database; then the acks, whose answers keep it busy.
    console.log(`\nlist queries (KeyService.list, first page of 10), ${LIST_SAMPLES} one after another per row, ${KEYS} keys`);
    const someId = (await mongo.models.apiKeys.findOne({ communityId: COMMUNITY }, { _id: 1 }).lean())!._id;
    const base: number[] = [];
    for (let i = 0; i < LIST_SAMPLES; i++) {
      const started = process.hrtime.bigint();
      await mongo.models.apiKeys.findById(someId).lean();
      base.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    base.sort((a, b) => a - b);
    console.log(`${'baseline: one key by _id'.padEnd(36)} p50 ${ms(pct(base, 50))}   p95 ${ms(pct(base, 95))}`);
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const loadStarted = process.hrtime.bigint();
    await core.keys.list({ communityId: COMMUNITY, userId: ADMIN }, { status: 'all' });
    const loadMs = Number(process.hrtime.bigint() - loadStarted) / 1e6;
    collectGarbage();
    const held = core.keyDirectory.size();
    const perKey = (process.memoryUsage().heapUsed - heapBefore) / Math.max(1, held.keys);
    console.log(`${'first list (loads the directory)'.padEnd(36)} ${ms(loadMs)}   directory: ${held.keys} keys, heap ≈ ${perKey.toFixed(0)} bytes per key`);
    const now = new Date();
    const filters: Array<[string, ListOptions, Record<string, unknown>]> = [
      ['all', { status: 'all' }, { communityId: COMMUNITY }],
      ['active', { status: 'active' }, { communityId: COMMUNITY, status: 'active' }],
      ['revoked', { status: 'revoked' }, { communityId: COMMUNITY, status: 'revoked' }],
      ['expired', { status: 'expired' }, { communityId: COMMUNITY, status: 'active', expiresAt: { $lte: now } }],
      ['by creator (all)', { status: 'all', createdBy: CREATORS[7] }, { communityId: COMMUNITY, createdBy: CREATORS[7] }],
      ['search "phishing" (all)', { status: 'all', search: 'phishing' }, { communityId: COMMUNITY, name: { $regex: 'phishing', $options: 'i' } }],
      ['search "connector 9999" (active)', { status: 'active', search: 'connector 9999' }, { communityId: COMMUNITY, name: { $regex: '9999', $options: 'i' } }],
    ];
    for (const [name, opts, filter] of filters) {
      const t = await timeList(core, opts, LIST_SAMPLES);
      const db = await timeQuery(mongo, opts, DB_SAMPLES);
      console.log(
        `${name.padEnd(36)} p50 ${ms(pct(t, 50))}   p95 ${ms(pct(t, 95))}   p95 ×${(pct(t, 95) / pct(base, 95)).toFixed(1)} baseline   ` +
          `database query (${DB_SAMPLES}×) p50 ${ms(pct(db, 50))} [${await plan(mongo, filter)}]`,
      );
    }
    // Each list after a key was revoked: the change log read (one round trip), that key re-read by _id.
    const actives = (await core.keys.list({ communityId: COMMUNITY, userId: ADMIN }, { status: 'active', limit: 10 })).items;
    const afterRevoke: number[] = [];
    for (const key of actives) {
      await core.keyRepo.revoke(COMMUNITY, key.keyId, ADMIN, new Date());
      const started = process.hrtime.bigint();
      const page = await core.keys.list({ communityId: COMMUNITY, userId: ADMIN }, { status: 'active' });
      afterRevoke.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (page.items.some((k) => k.keyId === key.keyId)) throw new Error(`revoked ${key.keyId} still listed as active`);
    }
    afterRevoke.sort((a, b) => a - b);
    console.log(
      `${'active, each after a revoke'.padEnd(36)} p50 ${ms(pct(afterRevoke, 50))}   p95 ${ms(pct(afterRevoke, 95))}   (${afterRevoke.length} samples)`,
    );
    await run(peer, app.port, 'help', 2, 20); // warm-up: JIT, connection pool
    await run(peer, app.port, 'list', 2, 2);
    await run(peer, bare.port, 'list', 2, 20);
    await drain(22);
    await peer.call({ cmd: 'reset' });
    console.log(`\nack of ${REQUESTS} signed requests per row, ${CONCURRENCY} at a time (HTTP 200 from /slack/events), workspace of ${KEYS} keys`);
    const baseline = await run(peer, bare.port, 'list', CONCURRENCY);
    console.log(ackRow(`baseline: bare node:http`, baseline));
    const measured = async (name: string, text: string) => {
      inside.length = 0;
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const t = await run(peer, app.port, text, CONCURRENCY);
      loop.disable();
      inside.sort((a, b) => a - b);
      console.log(ackRow(name, t, baseline));
      console.log(
        `${'  inside the app (arrival → ack sent)'.padEnd(36)} p50 ${ms(pct(inside, 50))}   p99 ${ms(pct(inside, 99))}   event-loop delay p50 ${ms(loop.percentile(50) / 1e6)}  p99 ${ms(loop.percentile(99) / 1e6)}`,
      );
    };
    // `help` does no database work after its ack: the app's own cost. Then `list`, whose
    // follow-up (membership, the list query, the answer) competes with the acks after it.
    await measured('keywarden /apikey help', 'help');
    await measured('keywarden /apikey list', 'list');
    const answered = Date.now();
    const responds = await drain(2 * REQUESTS);
    console.log(`answers posted to response_url: ${responds}/${2 * REQUESTS} (the last ${((Date.now() - answered) / 1000).toFixed(1)} s after the last ack)`);
    console.log(`load average at the end: ${loadAverage()}`);
  } finally {
    await slack.stop();
    await core.close();
    app.server.closeAllConnections();
    bare.server.closeAllConnections();
    app.server.close();
    bare.server.close();
    await peer.close();
    await mongo.conn.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stopServices = await ensureBenchServices();
  await main();
  await stopServices();
  process.exit(0);
}
