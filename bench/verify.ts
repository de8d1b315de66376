// bench/verify: the verify API's cached hits against a bare node:http server returning a
// fixed JSON body, measured in the same run with the same client, and the uncached path
// (cache disabled: every request reads MongoDB). autocannon runs in a worker thread, so
// the client does not share the servers' event loop.
//
//   MONGODB_URI=mongodb://127.0.0.1:27017/ REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/verify.ts
//   (or: npm run bench -- verify; compiled and run with node against dist/, as production
//   runs: npm run bench:dist -- verify). BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 50),
//   BENCH_ROUNDS (default 3) alternating bare/cached rounds; BENCH_UNCACHED=false skips the MongoDB run.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { loadConfig, withExternalServices } from '../src/config/env.js';
import { createCore } from '../src/core.js';
import { createApiServer } from '../src/http/server.js';
import { createVerifier } from '../src/http/verifier.js';
import { createLogger } from '../src/log.js';
import { models, type Mongo } from '../src/store/mongo.js';

interface Histogram {
  p50: number;
  p99: number;
  average: number;
}
interface CannonResult {
  requests: { average: number; total: number };
  latency: Histogram;
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  workers?: number;
  method: string;
  headers: Record<string, string>;
  body: string;
}
type Cannon = (opts: CannonOptions) => Promise<CannonResult>;

export interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** Main-thread (server) busy time per request, µs: CPU cost, less sensitive to neighbours than req/s. */
  busyUs: number;
  errors: number;
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

async function fire(cannon: Cannon, name: string, url: string, body: string, seconds: number, connections: number): Promise<Row> {
  const opts = { url, connections, workers: 1, method: 'POST', headers: { 'content-type': 'application/json' }, body };
  await cannon({ ...opts, duration: 1 }); // warm-up: JIT, keep-alive sockets, the cache
  const before = performance.eventLoopUtilization();
  const r = await cannon({ ...opts, duration: seconds });
  const elu = performance.eventLoopUtilization(before);
  const busyUs = (elu.active * 1000) / Math.max(1, r.requests.total);
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, busyUs, errors: r.non2xx + r.errors + r.timeouts };
}

/** Runs the three measurements and prints the table (what `npm run bench -- verify` calls). */
export async function main(): Promise<void> {
  await measure();
}

/** The three runs; prints the table and resolves with its rows. */
export async function measure(): Promise<Row[]> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  // autocannon ships no type declarations: the little used here is typed above.
  const cannon = createRequire(import.meta.url)('autocannon') as Cannon;

  const env: NodeJS.ProcessEnv = {
    SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-bench',
    ADMIN_SLACK_USER_IDS: 'UBENCH1',
    LOG_LEVEL: 'warn',
    ...process.env,
    QUEUE_PREFIX: `kwbench-${randomUUID().slice(0, 8)}`,
  };
  const config = withExternalServices(loadConfig(env), 'bench/verify');
  const log = createLogger(config.LOG_LEVEL);

  // Our own connection with a small pool: the uncached run must not take every connection
  // of a shared FerretDB (whose PostgreSQL pool is small).
  const dbName = `kw_bench_${randomUUID().slice(0, 8)}`;
  const conn = mongoose.createConnection(config.MONGODB_URI, { dbName, maxPoolSize: 8 });
  await conn.asPromise();
  const m = models(conn);
  await Promise.all(Object.values(m).map((model) => model.createIndexes()));
  const mongo: Mongo = { conn, models: m, uri: config.MONGODB_URI, close: () => conn.close() };

  const cachedCore = createCore(config, log, mongo);
  const uncachedCore = createCore({ ...config, VERIFY_CACHE_MAX: 0 }, log, mongo);
  const { token } = await cachedCore.keys.create(
    { communityId: 'TBENCH', userId: 'UBENCH1' },
    {
      name: 'bench',
      description: 'bench key for the verify API',
      roles: ['ic_viewer'],
    },
  );
  const body = JSON.stringify({ key: token });

  const fixed = JSON.stringify({ valid: true, keyId: 'ak_000000000000', name: 'bench', roles: ['ic_viewer'], communityId: 'TBENCH' });
  const bare = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(fixed) });
      res.end(fixed);
    });
  });
  const cachedVerifier = createVerifier(cachedCore);
  const uncachedVerifier = createVerifier(uncachedCore);
  const cached = createApiServer(cachedCore, { verifier: cachedVerifier });
  const uncached = createApiServer(uncachedCore, { verifier: uncachedVerifier });
  const barePort = await listen(bare);
  const cachedPort = await cached.listen(0);
  const uncachedPort = await uncached.listen(0);

  // Bare and cached alternate, round after round, so a noisy neighbour hits both alike;
  // the table shows each run and the medians.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const loadAtStart = loadAverage();
  const rows: Row[] = [];
  const bareRows: Row[] = [];
  const cachedRows: Row[] = [];
  try {
    for (let i = 1; i <= rounds; i++) {
      bareRows.push(await fire(cannon, `bare node:http #${i}`, `http://127.0.0.1:${barePort}/`, body, seconds, connections));
      cachedRows.push(await fire(cannon, `verify, cached hit #${i}`, `http://127.0.0.1:${cachedPort}/v1/keys/verify`, body, seconds, connections));
    }
    if (process.env.BENCH_UNCACHED !== 'false') {
      rows.push(await fire(cannon, 'verify, uncached (MongoDB)', `http://127.0.0.1:${uncachedPort}/v1/keys/verify`, body, seconds, connections));
    }
  } finally {
    await cached.close();
    await uncached.close();
    await new Promise((r) => bare.close(r));
    await cachedVerifier.close();
    await uncachedVerifier.close();
    await conn.dropDatabase().catch(() => undefined);
    await mongo.close();
  }

  const median = (name: string, rs: Row[]): Row => {
    const mid = <T>(xs: T[]) => xs[Math.floor(xs.length / 2)]!;
    const by = (f: (r: Row) => number) => mid(rs.map(f).sort((a, b) => a - b));
    return {
      name,
      rps: by((r) => r.rps),
      p50: by((r) => r.p50),
      p99: by((r) => r.p99),
      busyUs: by((r) => r.busyUs),
      errors: rs.reduce((n, r) => n + r.errors, 0),
    };
  };
  const bareMedian = median('bare node:http, median', bareRows);
  const table = [...bareRows, ...cachedRows, bareMedian, median('verify, cached hit, median', cachedRows), ...rows];
  const base = bareMedian.rps;
  const fmt = (n: number, d = 0) => n.toFixed(d).padStart(9);
  console.log("µs/req: time the servers' event loop was busy per request (their CPU cost; the client runs in its own thread).");
  console.log(
    `\n${connections} connections, ${seconds} s per run, ${rounds} alternating rounds, client in a worker thread, ${process.version}, ` +
      `${import.meta.url.endsWith('.js') ? 'compiled (dist/)' : 'TypeScript through tsx'}; load average ${loadAtStart} at the start, ${loadAverage()} at the end`,
  );
  console.log(
    `${'run'.padEnd(30)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'vs bare'.padStart(9)}${'µs/req'.padStart(9)}${'errors'.padStart(9)}`,
  );
  for (const r of table)
    console.log(
      `${r.name.padEnd(30)}${fmt(r.rps)}${fmt(r.p50, 1)}${fmt(r.p99, 1)}${fmt((r.rps / base) * 100, 0)}%${fmt(r.busyUs, 1)}${String(r.errors).padStart(9)}`,
    );
  return table;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
