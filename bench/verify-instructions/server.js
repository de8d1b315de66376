// The server side of bench/verify-instructions, run under valgrind by that bench (plain
// JavaScript, so that nothing but node and the built code runs in the measured process).
//
//   node bench/verify-instructions/server.js bare
//   node bench/verify-instructions/server.js verify <dist directory>
//
// `bare`: a node:http server that reads the body and answers a fixed JSON (the baseline).
// `verify`: the verify API of the build in <dist directory> (dist/ after `npm run build`,
// or another commit's build), with one key in a fresh database and its verification cached.
// Prints one JSON line {port, path, body} once it listens, then serves until killed.
//
// Work that runs per second rather than per request is stretched, in both modes alike, so
// that what the bench counts between two dumps is the requests' (what is left is measured
// idle and subtracted by the bench): prom-client's event-loop-delay sampler (a 10 ms timer),
// MongoDB's heartbeats and its pool's 100 ms minimum-size timer, the revocation lease (a
// Redis read every 50 ms while hits arrive), the lastUsedAt flush and the cache's refresh-ahead.
// Idle keep-alive connections stay open (a dump can pause the client for longer than the
// default 5 s, after which a reused connection could meet the server closing it).
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import process from 'node:process';
import { clearTimeout } from 'node:timers';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
/** Stretched from 10 ms, 100 ms, 50 ms… to ten minutes: longer than any run of the bench. */
const LONG_MS = 600_000;

// prom-client samples the event-loop delay with a libuv timer at the precision it is given
// (10 ms by default); the same sampler, once per LONG_MS.
const perfHooks = require('node:perf_hooks');
const monitorEventLoopDelay = perfHooks.monitorEventLoopDelay;
perfHooks.monitorEventLoopDelay = (options) => monitorEventLoopDelay({ ...options, resolution: LONG_MS });

const [mode, distArg] = process.argv.slice(2);
const announce = (port, path, body) => process.stdout.write(`${JSON.stringify({ port, path, body })}\n`);

if (mode === 'bare') {
  const fixed = JSON.stringify({ valid: true, keyId: 'ak_000000000000', name: 'bench', roles: ['ic_viewer'], communityId: 'TBENCH' });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(fixed) });
      res.end(fixed);
    });
  });
  server.keepAliveTimeout = LONG_MS;
  server.listen(0, '127.0.0.1', () => announce(server.address().port, '/', JSON.stringify({ key: 'kw_bare' })));
} else if (mode === 'verify' && distArg) {
  await serveVerify(resolve(distArg));
} else {
  process.stderr.write('usage: server.js bare | verify <dist directory>\n');
  process.exit(2);
}

async function serveVerify(dist) {
  const load = (file) => import(pathToFileURL(`${dist}/src/${file}`).href);
  const [{ loadConfig }, { createCore }, { createApiServer }, { createVerifier }, { createLogger }, { models }] = await Promise.all([
    load('config/env.js'),
    load('core.js'),
    load('http/server.js'),
    load('http/verifier.js'),
    load('log.js'),
    load('store/mongo.js'),
  ]);
  // The build's own mongoose (the one its models are made with).
  const mongoose = createRequire(`${dist}/src/store/mongo.js`)('mongoose');
  const config = loadConfig({
    SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-bench',
    ADMIN_SLACK_USER_IDS: 'UBENCH1',
    LOG_LEVEL: 'warn',
    ...process.env,
    // Longest allowed: no entry is refreshed ahead or expires during a run.
    VERIFY_CACHE_TTL_MS: '600000',
    QUEUE_PREFIX: `kwinstr-${randomUUID().slice(0, 8)}`,
  });
  const log = createLogger(config.LOG_LEVEL);
  const dbName = `kw_instr_${randomUUID().slice(0, 8)}`;
  const conn = mongoose.createConnection(config.MONGODB_URI, { dbName, maxPoolSize: 4, heartbeatFrequencyMS: LONG_MS });
  await conn.asPromise();
  // The driver takes no option for its pool's minimum-size timer (every 100 ms): stop it.
  for (const server of conn.getClient().topology?.s.servers.values() ?? []) {
    clearTimeout(server.pool.minPoolSizeTimer);
    server.pool.ensureMinPoolSize = () => undefined;
  }
  const m = models(conn);
  await Promise.all(Object.values(m).map((model) => model.createIndexes()));
  const mongo = { conn, models: m, uri: config.MONGODB_URI, close: () => conn.close() };
  const core = createCore(config, log, mongo);
  const { token } = await core.keys.create(
    { communityId: 'TBENCH', userId: 'UBENCH1' },
    { name: 'bench', description: 'bench key for the verify API', roles: ['ic_viewer'] },
  );
  const verifier = createVerifier(core, { leaseMs: LONG_MS, touchIntervalMs: LONG_MS });
  const api = createApiServer(core, { verifier });
  api.server.keepAliveTimeout = LONG_MS;
  const port = await api.listen(0, '127.0.0.1');

  const stop = async () => {
    await api.close();
    await verifier.close();
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
    await core.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  announce(port, '/v1/keys/verify', JSON.stringify({ key: token }));
}
