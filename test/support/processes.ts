import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { LIFE, REQUESTS, REVOCATIONS, ROLLS, WEBHOOKS } from '../../jobs/queues.js';
import { freePort, waitForRedis } from './ports.js';
import { PROCESS_START_MS } from './start-timeout.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A redis-server of a test's own, to stop and start for real (never the shared one). */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Kills it (SIGKILL: as abrupt as a crash) and waits for the process to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
  /** Kills it and removes its directory (afterAll). */
  dispose(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kw-own-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitForRedis(port, 5_000);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    async dispose() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A worker process (`node --import tsx test/support/worker-process.ts`: tsx's loader in the
 * process itself, so that a signal reaches the worker and not a wrapper such as npx) on
 * the same MongoDB, Redis and prefix.
 */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr (pino JSON lines). */
  output(): string;
  /** Resolves once it logged that its workers started. */
  ready: Promise<void>;
  /** SIGKILL: no graceful close, its active jobs' locks are left to expire. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for it to exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns a worker process; `env` holds the variables its config is loaded from. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-process.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process not ready within ${PROCESS_START_MS / 1000} s:\n${out.slice(-2000)}`)), PROCESS_START_MS);
    const check = () => {
      if (out.includes('workers started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  ready.catch(() => undefined);
  return {
    child,
    output: () => out,
    ready,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Removes both queues of a test's prefix from Redis (afterAll), and then any key left under
 * the prefix (queue meta and stalled-check markers written by closing workers).
 */
export async function obliterateQueues(redisUrl: string, prefix: string): Promise<void> {
  if (!prefix.startsWith('test-')) throw new Error(`refusing to clear a prefix that is not a test's own: ${prefix}`);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  try {
    for (const name of [REVOCATIONS, WEBHOOKS, LIFE, ROLLS, REQUESTS]) {
      const q = new Queue(name, { connection, prefix, skipMetasUpdate: true });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    for (const name of [REVOCATIONS, WEBHOOKS, LIFE, ROLLS, REQUESTS]) {
      const keys: string[] = [];
      for await (const batch of connection.scanStream({ match: `${prefix}:${name}:*`, count: 500 })) keys.push(...(batch as string[]));
      if (keys.length) await connection.del(...keys);
    }
  } finally {
    connection.disconnect();
  }
}
