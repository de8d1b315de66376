// Revocation fan-out (`npm run bench -- fanout`), one worker in this process, every figure
// next to a baseline measured in the same run:
// 1. one key with N dependents (default 1,000) on a loopback receiver: revoke returned →
//    first and last dependent notified, deliveries per second; baseline: the same N signed
//    POSTs sent directly, at the same concurrency, with fetch and with a keep-alive
//    node:http agent (the ratio is against the faster of the two);
// 2. mass revocation: K keys × M dependents (default 50 × 20) revoked (a) through
//    KeyService.revoke, 10 calls at a time as `/apikey revoke <keyId>…` did before, (b) through
//    one KeyService.revokeMany, (c) by the `Revoke N keys` click on the Slack app; baseline:
//    the same K × M POSTs sent directly; the database commands of each tallied by kind;
// 3. where the time goes: the database work of a fan-out of N timed on its own (reading the
//    dependents, inserting each delivery's record with its first attempt, in batches).
//   MONGODB_URI and REDIS_URL like the tests; BENCH_DEPENDENTS=N, BENCH_MASS=KxM;
//   BENCH_MASS_ONLY_MANY=1 skips 1 and 2a; BENCH_ONE_ONLY=1 runs 1 and 3 alone;
//   BENCH_CPU_PROFILE=<prefix> writes CPU profiles of this process for 1: <prefix>-baseline.cpuprofile
//   (the node:http baseline) and <prefix>-fanout.cpuprofile (revoke called → notification done).
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createRevocationPublisher, startWorkers } from '../jobs/index.js';
import { LIFE, REVOCATIONS, ROLLS, WEBHOOKS } from '../jobs/queues.js';
import { revokedEvent, signedHeaders } from '../jobs/webhooks.js';
import { loadConfig, withExternalServices, type Config } from '../src/config/env.js';
import { benchEnv, ensureBenchServices } from './services.js';
import { createCore, type Core } from '../src/core.js';
import { DeliveryRepository } from '../src/store/delivery-repository.js';
import { KeyRepository } from '../src/store/key-repository.js';
import { deliveryIdFor } from '../src/dependents/delivery-record.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import { createLogger } from '../src/log.js';
import { connectMongo, type Mongo } from '../src/store/mongo.js';
import { startFakeSlack, type FakeSlack } from '../test/support/fake-slack.js';
import { blockAction, sendSigned } from '../test/support/slack-requests.js';
import { createSlackApp } from '../src/slack/app.js';
import { actionIds, blockIds } from '../src/slack/ids.js';

const N = Number(process.env.BENCH_DEPENDENTS ?? 1_000);
const [MASS_KEYS, MASS_DEPS] = (process.env.BENCH_MASS ?? '50x20').split('x').map(Number) as [number, number];
/** Revoke calls in flight at once in the mass revocation, as the Slack command makes them. */
const MASS_PARALLEL = 10;
const admin = { communityId: 'T0BENCH', userId: 'UBENCH1' };

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

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

type Post = { url: string; body: string; secret: string };

/** Runs `send` over `posts`, `concurrency` at a time; returns the elapsed ms. */
async function direct(posts: Post[], concurrency: number, send: (p: Post) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < posts.length) await send(posts[next++]!);
    }),
  );
  return performance.now() - started;
}

const viaFetch = async ({ url, body, secret }: Post) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders(secret, `msg_${randomUUID()}`, body) },
    body,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`baseline POST ${url}: ${res.status}`);
};

function viaHttp(agent: Agent) {
  return ({ url, body, secret }: Post) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...signedHeaders(secret, `msg_${randomUUID()}`, body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`baseline POST ${url}: ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** Both direct baselines (after a warm-up); the faster is the one compared against. `profiled`: the node:http one, with BENCH_CPU_PROFILE. */
async function baselines(
  posts: Post[],
  concurrency: number,
  profiled = false,
): Promise<{ fetchMs: number; httpMs: number; bestMs: number; httpCpuMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    await direct(posts.slice(0, 100), concurrency, viaFetch);
    await direct(posts.slice(0, 100), concurrency, viaHttp(agent));
    const fetchMs = await direct(posts, concurrency, viaFetch);
    const profile = profiled ? await startProfile('baseline') : undefined;
    const cpu = process.cpuUsage();
    const httpMs = await direct(posts, concurrency, viaHttp(agent));
    const httpCpuMs = cpuMs(cpu);
    await profile?.();
    return { fetchMs, httpMs, bestMs: Math.min(fetchMs, httpMs), httpCpuMs };
  } finally {
    agent.destroy();
  }
}

/** With BENCH_CPU_PROFILE=<prefix>: starts profiling this process; the returned function writes `<prefix>-<part>.cpuprofile`. */
async function startProfile(part: 'baseline' | 'fanout'): Promise<(() => Promise<void>) | undefined> {
  if (!process.env.BENCH_CPU_PROFILE) return undefined;
  const file = `${process.env.BENCH_CPU_PROFILE}-${part}.cpuprofile`;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`   CPU profile written to ${file}`);
  };
}

/** CPU time (user + system) of this process since `since`, in ms. */
const cpuMs = (since: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

const ms = (v: number) => `${v.toFixed(0).padStart(6)} ms`;
const rate = (n: number, t: number) => `${((n * 1000) / t).toFixed(0).padStart(6)}/s`;

/** Links `count` dependents to a key in bulk (link() one by one would measure MongoDB, not the fan-out). */
async function linkDependents(mongo: Mongo, keyId: string, urls: string[], tag: string): Promise<void> {
  const createdAt = new Date();
  await mongo.models.dependents.insertMany(
    urls.map((url, i) => ({
      communityId: admin.communityId,
      dependentId: `dep_${tag}${String(i).padStart(5, '0')}`,
      keyId,
      kind: 'playbook',
      name: `bench dependent ${tag} ${i}`,
      webhookUrl: url,
      signingSecret: `whsec_${randomBytes(24).toString('base64')}`,
      status: 'active',
      createdBy: admin.userId,
      createdAt,
    })),
  );
}

const bodyOf = (key: KeyRecord) => JSON.stringify(revokedEvent({ ...key, status: 'revoked', revokedAt: new Date(), revokedBy: admin.userId }));
const secret = () => `whsec_${randomBytes(24).toString('base64')}`;

async function oneKey(core: Core, mongo: Mongo, watcher: KeyRepository, config: Config, recv: Awaited<ReturnType<typeof receiver>>): Promise<void> {
  const { key } = await core.keys.create(admin, { name: 'Bench key', description: 'Fanned out to many dependents', roles: ['ic_viewer'] });
  const urls = Array.from({ length: N }, (_, i) => `${recv.origin}/one/${i}`);
  await linkDependents(mongo, key.keyId, urls, 'one');
  const body = bodyOf(key);
  const base = await baselines(
    urls.map((url) => ({ url, body, secret: secret() })),
    config.WEBHOOK_CONCURRENCY,
    true,
  );
  recv.reset();

  const profile = await startProfile('fanout');
  dbTime?.reset();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await core.keys.revoke(admin, key.keyId);
  const returned = performance.now();
  await waitFor(() => recv.firstHit.size >= N, 300_000, `${N} dependents notified`);
  const hits = [...recv.firstHit.values()];
  const first = Math.min(...hits);
  const last = Math.max(...hits);
  const fanCpuMs = cpuMs(cpu);
  // Polled on a connection of its own, so that the tally below is the revocation's work alone.
  await waitFor(async () => (await watcher.findByKeyId(key.keyId))?.notification.state === 'done', 300_000, 'notification done', 20);
  const done = performance.now();
  await profile?.();
  const fanMs = last - returned;

  console.log(`\n1. one key, ${N} dependents on one loopback receiver; webhook concurrency ${config.WEBHOOK_CONCURRENCY}, one worker process`);
  console.log(`   baseline, direct fetch          ${N} POSTs ${ms(base.fetchMs)}  ${rate(N, base.fetchMs)}`);
  console.log(`   baseline, direct node:http      ${N} POSTs ${ms(base.httpMs)}  ${rate(N, base.httpMs)}   CPU of this process ${ms(base.httpCpuMs)}`);
  console.log(
    `   keywarden: revoke returned → last notified ${ms(fanMs)}  ${rate(N, fanMs)}   ratio to the faster baseline: ${(base.bestMs / fanMs).toFixed(2)}x (goal ≥ 0.5x; ≤ 2000 ms)`,
  );
  console.log(
    `   CPU of this process (worker, receiver), revoke called → last notified ${ms(fanCpuMs)}  (${(fanCpuMs / base.httpCpuMs).toFixed(2)}x the node:http baseline's; less sensitive to load than the times)`,
  );
  console.log(
    `   revoke returned → first notified         ${ms(first - returned)}   (goal ≤ 100 ms; negative: the worker sent before the revoke call had returned)`,
  );
  console.log(`   revoke call itself                       ${ms(returned - t0)}`);
  console.log(`   revoke returned → notification done      ${ms(done - returned)}   (every outcome recorded, counts on the key)`);
  const told = hits.map((h) => h - returned).sort((a, b) => a - b);
  const at = (q: number) => told[Math.min(told.length - 1, Math.floor(q * told.length))]!.toFixed(0);
  console.log(`   dependents told, after the revoke returned: 10% ${at(0.1)} ms, 50% ${at(0.5)} ms, 90% ${at(0.9)} ms, all ${at(1)} ms`);
  console.log(`   requests received ${recv.hits()} for ${N} dependents (duplicates: ${recv.hits() - N})`);
  dbTime?.print();
}

/**
 * How the mass revocation revokes: one KeyService.revoke per key, 10 at a time (as before),
 * one KeyService.revokeMany, or the `Revoke N keys` button of `/apikey revoke <keyId>…`
 * clicked on the Slack app (a signed interaction over HTTP; "returned" is Slack's reply).
 */
type MassMode = 'one by one' | 'revokeMany' | 'slack';

/** The Slack app in this process, answering signed interactions over loopback HTTP. */
interface SlackSide {
  baseUrl: string;
  fake: FakeSlack;
  secret: string;
}

/** Clicks `Revoke N keys` as the admin and waits for the reply that replaces the confirmation. */
async function clickRevokeMany(side: SlackSide, keyIds: string[]): Promise<string> {
  const responseUrl = side.fake.responseUrl();
  const body = blockAction({
    userId: admin.userId,
    teamId: admin.communityId,
    actionId: actionIds.revokeKeys,
    blockId: blockIds.keyActions,
    value: JSON.stringify({ k: keyIds }),
    container: { type: 'message' },
    responseUrl,
  });
  const res = await sendSigned(side.baseUrl, body, { secret: side.secret });
  if (res.status !== 200) throw new Error(`the click was answered ${res.status}`);
  const reply = await side.fake.waitFor('respond', (c) => c.url === responseUrl && c.args.replace_original === true, 120_000);
  return JSON.stringify(reply.args);
}

async function massRevocation(
  core: Core,
  mongo: Mongo,
  watcher: KeyRepository,
  config: Config,
  recv: Awaited<ReturnType<typeof receiver>>,
  mode: MassMode,
  side?: SlackSide,
): Promise<void> {
  const total = MASS_KEYS * MASS_DEPS;
  const keys: KeyRecord[] = [];
  const posts: Post[] = [];
  const tag = ({ 'one by one': 'a', revokeMany: 'b', slack: 'c' } as const)[mode];
  for (let k = 0; k < MASS_KEYS; k++) {
    const { key } = await core.keys.create(admin, { name: `Mass key ${k}`, description: 'Revoked with many others at once', roles: ['ic_viewer'] });
    const urls = Array.from({ length: MASS_DEPS }, (_, i) => `${recv.origin}/mass${tag}/${k}/${i}`);
    await linkDependents(mongo, key.keyId, urls, `m${tag}${k}x`);
    keys.push(key);
    const body = bodyOf(key);
    for (const url of urls) posts.push({ url, body, secret: secret() });
  }
  const base = await baselines(posts, config.WEBHOOK_CONCURRENCY);
  recv.reset();

  dbTime?.reset();
  const t0 = performance.now();
  const returnedAt: number[] = [];
  if (mode === 'slack') {
    const reply = await clickRevokeMany(
      side!,
      keys.map((k) => k.keyId),
    );
    returnedAt.push(performance.now());
    const named = keys.filter((k) => reply.includes(k.keyId)).length;
    if (named !== keys.length) throw new Error(`the Slack reply names ${named} of ${keys.length} keys`);
  } else if (mode === 'revokeMany') {
    // As `/apikey revoke <keyId>…` does now: one KeyService.revokeMany for all.
    const results = await core.keys.revokeMany(
      admin,
      keys.map((k) => k.keyId),
    );
    returnedAt.push(performance.now());
    const bad = results.filter((r) => !r.ok || !r.result.changed);
    if (bad.length > 0) throw new Error(`revokeMany: ${bad.length} keys not revoked`);
  } else {
    // As `/apikey revoke <keyId>…` did before: each key through KeyService.revoke, 10 at a time.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(MASS_PARALLEL, keys.length) }, async () => {
        while (next < keys.length) {
          await core.keys.revoke(admin, keys[next++]!.keyId);
          returnedAt.push(performance.now());
        }
      }),
    );
  }
  const lastReturned = Math.max(...returnedAt);
  await waitFor(() => recv.firstHit.size >= total, 300_000, `${total} dependents notified`);
  const hits = [...recv.firstHit.values()];
  const last = Math.max(...hits);
  const ids = keys.map((k) => k.keyId);
  // Polled on a connection of its own, so that the tally below is the revocations' work alone.
  await waitFor(() => allDone(watcher, ids), 300_000, 'notifications done', 50);
  const done = performance.now();

  const how = {
    'one by one': `KeyService.revoke, ${MASS_PARALLEL} calls at a time`,
    revokeMany: 'one KeyService.revokeMany',
    slack: "the Revoke N keys button of /apikey revoke (a signed click; returned: Slack's reply)",
  }[mode];
  console.log(`\n2${tag}. mass revocation: ${MASS_KEYS} keys × ${MASS_DEPS} dependents revoked through ${how}, one worker process`);
  console.log(`   baseline, direct fetch          ${total} POSTs ${ms(base.fetchMs)}  ${rate(total, base.fetchMs)}`);
  console.log(`   baseline, direct node:http      ${total} POSTs ${ms(base.httpMs)}  ${rate(total, base.httpMs)}`);
  console.log(`   ${MASS_KEYS} keys revoked: ${mode === 'one by one' ? 'all calls' : 'the call'} returned after ${ms(lastReturned - t0)}   (goal: within 1 s)`);
  console.log(
    `   keywarden: first revoke called → last notified ${ms(last - t0)}  ${rate(total, last - t0)}   ratio to the faster baseline: ${(base.bestMs / (last - t0)).toFixed(2)}x (goal ≤ 3000 ms)`,
  );
  console.log(`   last revoke returned → last notified      ${ms(last - lastReturned)}`);
  // When each key's fan-out got going: its first dependent told, after the last call returned.
  const firstPerKey = keys
    .map((_, k) => Math.min(...[...recv.firstHit].filter(([p]) => p.startsWith(`/mass${tag}/${k}/`)).map(([, t]) => t)) - lastReturned)
    .sort((a, b) => a - b);
  const pick = (q: number) => firstPerKey[Math.min(firstPerKey.length - 1, Math.floor(q * firstPerKey.length))]!;
  console.log(`   each key's first dependent told, after the last call returned: first ${ms(pick(0))}, median ${ms(pick(0.5))}, last ${ms(pick(1))}`);
  console.log(`   first revoke called → all notifications done ${ms(done - t0)}`);
  console.log(`   requests received ${recv.hits()} for ${total} dependents (duplicates: ${recv.hits() - total})`);
  dbTime?.print();
}

/** Database commands by kind (command, collection, whether FerretDB can push the filter down): count and total time. */
class CommandTally {
  private readonly started = new Map<number, { kind: string; at: number }>();
  private rows = new Map<string, { n: number; ms: number }>();

  start(id: number, kind: string): void {
    this.started.set(id, { kind, at: performance.now() });
  }

  end(id: number): void {
    const s = this.started.get(id);
    if (!s) return;
    this.started.delete(id);
    const row = this.rows.get(s.kind) ?? this.rows.set(s.kind, { n: 0, ms: 0 }).get(s.kind)!;
    row.n++;
    row.ms += performance.now() - s.at;
  }

  reset(): void {
    this.rows = new Map();
  }

  print(top = 12): void {
    const rows = [...this.rows].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
    console.log('   database commands meanwhile (count, summed duration; "by _id": the filter FerretDB pushes down, "scan": any other):');
    for (const [kind, r] of rows) console.log(`     ${kind.padEnd(44)} ${String(r.n).padStart(6)}  ${ms(r.ms)}  (mean ${(r.ms / r.n).toFixed(0)} ms)`);
  }
}

let dbTime: CommandTally | undefined;

/** What a command's filter is to FerretDB v1 on SQLite: exactly `{_id}` is pushed down, anything else is a scan. */
function filterKind(cmd: Record<string, unknown>): string {
  const filter = (cmd.filter ??
    (cmd.q as Record<string, unknown> | undefined) ??
    (Array.isArray(cmd.updates) ? (cmd.updates[0] as { q?: unknown }).q : undefined)) as Record<string, unknown> | undefined;
  if (!filter) return '';
  const keys = Object.keys(filter);
  const id = filter._id;
  return keys.length === 1 && keys[0] === '_id' && (typeof id === 'string' || (typeof id === 'object' && id !== null && !('$in' in id))) ? 'by _id' : 'scan';
}

function watchCommands(mongo: Mongo): CommandTally {
  const tally = new CommandTally();
  const client = mongo.conn.getClient();
  client.on('commandStarted', (e) => {
    const cmd = e.command as Record<string, unknown>;
    const coll = e.commandName === 'getMore' ? cmd.collection : cmd[e.commandName];
    if (typeof coll !== 'string') return;
    tally.start(e.requestId, `${e.commandName} ${coll} ${filterKind(cmd)}`.trim());
  });
  client.on('commandSucceeded', (e) => tally.end(e.requestId));
  client.on('commandFailed', (e) => tally.end(e.requestId));
  return tally;
}

async function allDone(keys: KeyRepository, ids: string[]): Promise<boolean> {
  for (const id of ids) if ((await keys.findByKeyId(id))?.notification.state !== 'done') return false;
  return true;
}

/** The database work of a fan-out of N, each part timed alone on a key of its own. */
async function probes(core: Core, mongo: Mongo, recv: Awaited<ReturnType<typeof receiver>>): Promise<void> {
  const { key } = await core.keys.create(admin, { name: 'Probe key', description: 'Only read, never revoked', roles: ['ic_viewer'] });
  await linkDependents(
    mongo,
    key.keyId,
    Array.from({ length: N }, (_, i) => `${recv.origin}/probe/${i}`),
    'probe',
  );
  let t = performance.now();
  let firstAt = 0;
  let count = 0;
  for await (const page of core.dependentRepo.activeForSigning([key.keyId])) {
    if (count === 0) firstAt = performance.now() - t;
    count += page.length;
  }
  const readMs = performance.now() - t;
  const repo = new DeliveryRepository(mongo.models);
  const rows = Array.from({ length: N }, (_, i) => {
    const dependentId = `dep_probe${String(i).padStart(5, '0')}`;
    return { communityId: admin.communityId, deliveryId: deliveryIdFor(key.keyId, dependentId), keyId: key.keyId, dependentId, dependentName: `probe ${i}` };
  });
  t = performance.now();
  const createdAt = new Date();
  await Promise.all(rows.map((r) => repo.recordFirstAttempt({ ...r, createdAt }, { at: new Date(), status: 200, durationMs: 1 }, 'delivered')));
  const recordMs = performance.now() - t;
  t = performance.now();
  await repo.counts(key.keyId);
  const countMs = performance.now() - t;
  t = performance.now();
  const one = rows[0]!;
  for (let i = 0; i < 20; i++) await mongo.models.deliveries.updateOne({ deliveryId: one.deliveryId }, { $set: { lastStatus: 200 } });
  const updateMs = (performance.now() - t) / 20;
  console.log(`\n3. where a fan-out of ${N} spends database time (each part alone)`);
  console.log(`   read the dependents, streamed     first after ${ms(firstAt)}, all ${count} after ${ms(readMs)}`);
  console.log(`   insert ${N} delivery records with their first attempt, batched as the fan-out writes them ${ms(recordMs)}`);
  console.log(`   count the outcomes (the notification's end)           ${ms(countMs)}`);
  console.log(`   for comparison, one single-document update (what each delivery cost twice before) ${ms(updateMs)}`);
  await repo.flush();
}

let slackStop: (() => Promise<void>) | undefined;

/** Starts the Slack app on loopback (stopped at the end of the run). */
async function slackSide(core: Core, fake: FakeSlack, config: Config): Promise<SlackSide> {
  const app = await createSlackApp(core, { retryConfig: { retries: 0 } });
  const server = createServer((req, res) => app.requestListener!(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  slackStop = async () => {
    await app.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fake, secret: config.SLACK_SIGNING_SECRET };
}

export async function main(): Promise<void> {
  const dbName = `kw_bench_fanout_${randomUUID().slice(0, 8)}`;
  const uri = benchEnv().MONGODB_URI;
  const monitored = `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true`;
  const [mongo, slack, recv] = await Promise.all([connectMongo(monitored, { dbName }), startFakeSlack(), receiver()]);
  dbTime = watchCommands(mongo);
  const watching = await connectMongo(uri, { dbName });
  const watcher = new KeyRepository(watching.models);
  const config = withExternalServices(
    loadConfig({
      ...benchEnv(),
      SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: slack.url,
      ADMIN_SLACK_USER_IDS: admin.userId,
      NOTIFY_CHANNEL_ID: 'C0BENCH',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      QUEUE_PREFIX: `bench-${randomUUID()}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...(process.env.WEBHOOK_CONCURRENCY ? { WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY } : {}),
      ...(process.env.REVOCATION_CONCURRENCY ? { REVOCATION_CONCURRENCY: process.env.REVOCATION_CONCURRENCY } : {}),
    }),
    'bench',
  );
  const core = createCore(config, createLogger(config.LOG_LEVEL), mongo);
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked, publisher.onRevokedMany);
  const workers = await startWorkers(core);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const server = (await mongo.conn.db!.admin().command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  console.log(`load average at start: ${load()}; ${server.ferretdbVersion ? `FerretDB ${server.ferretdbVersion}` : `MongoDB ${server.version}`}`);
  try {
    if (!process.env.BENCH_MASS_ONLY_MANY) await oneKey(core, mongo, watcher, config, recv);
    if (!process.env.BENCH_ONE_ONLY) {
      if (!process.env.BENCH_MASS_ONLY_MANY) await massRevocation(core, mongo, watcher, config, recv, 'one by one');
      await massRevocation(core, mongo, watcher, config, recv, 'revokeMany');
      await massRevocation(core, mongo, watcher, config, recv, 'slack', await slackSide(core, slack, config));
    }
    console.log(`\nload average after the revocations: ${load()}`);
    await probes(core, mongo, recv);
    console.log(`\nload average at end: ${load()}`);
  } finally {
    await slackStop?.();
    await workers.close();
    await publisher.close();
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
    for (const name of [REVOCATIONS, WEBHOOKS, LIFE, ROLLS]) {
      const q = new Queue(name, { connection, prefix: config.QUEUE_PREFIX });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    connection.disconnect();
    await watching.close();
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
