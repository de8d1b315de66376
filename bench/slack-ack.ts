// Slash-command ack time: 200 signed `/apikey list` requests against the Slack app running
// in-process (real MongoDB, fake Slack Web API), next to the same requests to a bare
// node:http server that answers 200 at once, measured in the same run.
//   npx tsx bench/slack-ack.ts      (MONGODB_URI and REDIS_URL like the tests; unset: started for the run)
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { loadConfig, withExternalServices } from '../src/config/env.js';
import { benchEnv, ensureBenchServices } from './services.js';
import { createCore } from '../src/core.js';
import { createLogger } from '../src/log.js';
import { createSlackApp } from '../src/slack/app.js';
import { connectMongo } from '../src/store/mongo.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { sign, slashCommand } from '../test/support/slack-requests.js';

const REQUESTS = 200;
const ADMIN = 'UADMIN1';
const SECRET = 'bench-signing-secret-0123456789';

async function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function post(agent: Agent, port: number, body: string): Promise<number> {
  const ts = Math.floor(Date.now() / 1000);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/slack/events',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-slack-request-timestamp': ts,
          'x-slack-signature': sign(SECRET, ts, body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Runs `REQUESTS` requests, `concurrency` at a time; returns latencies in ms. */
async function run(port: number, bodies: () => string, concurrency: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < REQUESTS) {
        next++;
        times.push(await post(agent, port, bodies()));
      }
    }),
  );
  agent.destroy();
  return times.sort((a, b) => a - b);
}

const row = (name: string, t: number[]) =>
  `${name.padEnd(34)} p50 ${pct(t, 50).toFixed(2).padStart(7)} ms   p99 ${pct(t, 99).toFixed(2).padStart(7)} ms   max ${t[t.length - 1]!.toFixed(2).padStart(7)} ms`;

export async function main(): Promise<void> {
  const fake = await startFakeSlack();
  const dbName = `kw_bench_slack_${randomUUID().slice(0, 8)}`;
  const mongo = await connectMongo(benchEnv().MONGODB_URI, { dbName });
  const config = withExternalServices(
    loadConfig({
      ...benchEnv(),
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: fake.url,
      ADMIN_SLACK_USER_IDS: ADMIN,
      LOG_LEVEL: 'warn',
    }),
    'bench',
  );
  const core = createCore(config, createLogger('warn'), mongo);
  const actor = { communityId: 'T0TEST', userId: ADMIN };
  for (let i = 0; i < 25; i++) {
    await core.keys.create(actor, { name: `Bench key ${i}`, description: `Benchmark key number ${i} for listing`, roles: ['ic_viewer'] });
  }
  const slack = await createSlackApp(core, { retryConfig: { retries: 0 } });
  const app = await listen((req, res) => slack.requestListener!(req, res));
  const bare = await listen((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  const body = () => slashCommand({ text: 'list', userId: ADMIN, responseUrl: fake.responseUrl() });
  // `help` does no database work after the ack: the gap to `list` is the follow-up work competing.
  const help = () => slashCommand({ text: 'help', userId: ADMIN, responseUrl: fake.responseUrl() });

  try {
    await run(app.port, body, 4); // warm-up: JIT, connection pool, first auth/seed
    await run(bare.port, body, 4);
    fake.reset();
    console.log(`${REQUESTS} signed /apikey list requests per row (ack = HTTP 200 from /slack/events)`);
    for (const concurrency of [1, 10]) {
      const baseline = await run(bare.port, body, concurrency);
      const acks = await run(app.port, body, concurrency);
      console.log(row(`baseline node:http, concurrency ${concurrency}`, baseline));
      const helps = await run(app.port, help, concurrency);
      console.log(row(`keywarden ack, concurrency ${concurrency}`, acks));
      console.log(row(`  (same, /apikey help)`, helps));
    }
    // The list itself is posted to the response URL after the ack: wait for all of them.
    const deadline = Date.now() + 30_000;
    while (fake.callsOf('respond').length < 4 * REQUESTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const responds = fake.callsOf('respond').length;
    console.log(`follow-up answers posted to response_url: ${responds}/${4 * REQUESTS}`);
  } finally {
    await slack.stop();
    app.server.closeAllConnections();
    bare.server.closeAllConnections();
    app.server.close();
    bare.server.close();
    await fake.close();
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
