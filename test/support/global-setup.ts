import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, waitForRedis } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URI of the MongoDB-compatible server, without a database name. */
    mongoBaseUri: string;
    redisUrl: string;
  }
}

/**
 * Finds MongoDB (MONGODB_URI, else mongodb-memory-server) and Redis (REDIS_URL, else a
 * redis-server started on a free port). Fails loudly when neither can be had: a suite that
 * silently skipped its integration tests would be lying.
 */
export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<void>> = [];

  let mongoBaseUri = process.env.MONGODB_URI;
  if (!mongoBaseUri) {
    try {
      const { MongoMemoryServer } = await import('mongodb-memory-server');
      const server = await MongoMemoryServer.create();
      mongoBaseUri = server.getUri();
      stops.push(async () => { await server.stop(); });
    } catch (e) {
      throw new Error(
        'No MongoDB for the tests: MONGODB_URI is unset and mongodb-memory-server could not start ' +
        `(${(e as Error).message.split('\n')[0]}). Set MONGODB_URI to a MongoDB-compatible server ` +
        '(.ci/run starts FerretDB and sets it).',
      );
    }
  }

  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'kw-redis-'));
    let child: ChildProcess;
    try {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        waitForRedis(port, 5_000).then(resolve, reject);
      });
    } catch (e) {
      throw new Error(`No Redis for the tests: REDIS_URL is unset and redis-server could not start (${(e as Error).message}). Install Redis or set REDIS_URL.`);
    }
    redisUrl = `redis://127.0.0.1:${port}`;
    stops.push(async () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); });
  } else {
    const u = new URL(redisUrl);
    await waitForRedis(Number(u.port || 6379), 2_000, u.hostname).catch(() => {
      throw new Error(`No Redis for the tests: REDIS_URL=${redisUrl} does not answer.`);
    });
  }

  project.provide('mongoBaseUri', mongoBaseUri);
  project.provide('redisUrl', redisUrl);
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
