// Management API latency: GET /v1/keys (a page of 10 of 300 keys, with and without a search)
// and POST /v1/keys/{keyId}/revoke (each a real revocation: audit insert, conditional
// update, verifiers told through Redis, the fan-out enqueued), over HTTP on loopback, in
// one process (API and publisher; no workers, so the fan-out does not compete).
//   npm run bench -- management   (or npx tsx bench/management.ts; MONGODB_URI and REDIS_URL
//   like the tests, unset: started for the run)
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createRevocationPublisher } from '../jobs/index.js';
import { loadConfig, withExternalServices } from '../src/config/env.js';
import { createCore } from '../src/core.js';
import { createManagementApi } from '../src/http/management/index.js';
import { createApiServer } from '../src/http/server.js';
import { createVerifier } from '../src/http/verifier.js';
import { createLogger } from '../src/log.js';
import { connectMongo } from '../src/store/mongo.js';
import { benchEnv, ensureBenchServices } from './services.js';

const KEYS = Number(process.env.BENCH_MGMT_KEYS ?? 300);
const ROUNDS = Number(process.env.BENCH_MGMT_ROUNDS ?? 300);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const line = (label: string, xs: number[]) =>
  console.log(
    `${label.padEnd(44)} n=${String(xs.length).padStart(4)}  p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(6)} ms`,
  );

export async function main(): Promise<void> {
  const dbName = `kw_bench_mgmt_${randomUUID().slice(0, 8)}`;
  const mongo = await connectMongo(benchEnv().MONGODB_URI, { dbName });
  const config = withExternalServices(
    loadConfig({
      ...benchEnv(),
      SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      ADMIN_SLACK_USER_IDS: 'UBENCH1',
      QUEUE_PREFIX: `bench-${randomUUID()}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      MANAGEMENT_RATE_LIMIT: '1000000',
    }),
    'bench',
  );
  const core = createCore(config, createLogger(config.LOG_LEVEL), mongo);
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked, publisher.onRevokedMany);
  const verifier = createVerifier(core);
  const management = createManagementApi(core);
  const server = createApiServer(core, { verifier, routes: management.routes });
  const base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  const admin = { communityId: 'T0BENCH', userId: 'UBENCH1' };
  try {
    const { secret } = await core.adminTokens.create(admin, { name: 'bench', scopes: ['keys:read', 'keys:revoke'] });
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const keyIds: string[] = [];
    for (let i = 0; i < KEYS; i++)
      keyIds.push(
        (await core.keys.create(admin, { name: `Bench key ${i}`, description: `Bench key number ${i} for the API`, roles: ['ic_viewer'] })).key.keyId,
      );
    const timed = async (method: string, path: string, body?: string) => {
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, { method, headers, ...(body ? { body } : {}) });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 20; i++) await timed('GET', '/v1/keys'); // warm-up
    console.log(`${KEYS} keys, one process, sequential requests over loopback HTTP`);
    const list: number[] = [];
    for (let i = 0; i < ROUNDS; i++) list.push(await timed('GET', '/v1/keys?status=all'));
    line('GET /v1/keys?status=all (page of 10)', list);
    const search: number[] = [];
    for (let i = 0; i < ROUNDS; i++) search.push(await timed('GET', `/v1/keys?search=${encodeURIComponent(`key ${i % KEYS}`)}`));
    line('GET /v1/keys?search=key+<n>', search);
    const revoke: number[] = [];
    for (const keyId of keyIds.slice(0, ROUNDS)) revoke.push(await timed('POST', `/v1/keys/${keyId}/revoke`, '{"reason":"no longer used"}'));
    line('POST /v1/keys/{keyId}/revoke', revoke);
  } finally {
    await server.close();
    await management.close();
    await verifier.close();
    await publisher.close();
    await core.close();
    await mongo.conn.db?.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stop = await ensureBenchServices();
  await main();
  await stop();
  process.exit(0);
}
