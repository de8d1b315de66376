import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, keepDir, removeAtExit, startChild } from './child.js';

/** The Redis to use, and how to let go of it. */
export interface ProvidedRedis {
  url: string;
  /** For the log: `REDIS_URL`, `redis://127.0.0.1:6379 (already running)` or `redis-server (child)`. */
  engine: string;
  /** Where a child keeps its data (a temporary folder, removed on stop, unless `dataDir` was given). */
  dataDir: string | undefined;
  /** The child's process id, when one was started. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface ProvideRedisOptions {
  /** REDIS_URL: used as it is when set. */
  url: string | undefined;
  /** Tried next; a Redis that answers PING there is used. */
  localUrl: string;
  /** Keep a child's data under `<dataDir>/redis` with AOF on (npm start); unset: nothing on disk (tests). */
  dataDir?: string;
  /** The environment redis-server is looked up (PATH) and run in; default: this process's. */
  env?: NodeJS.ProcessEnv;
}

/**
 * REDIS_URL when set; else `localUrl` when a Redis answers there; else a `redis-server` child
 * on a free loopback port, with `maxmemory-policy noeviction` as BullMQ requires. Throws one
 * line naming what to install or set when none of these works.
 */
export async function provideRedis(opts: ProvideRedisOptions): Promise<ProvidedRedis> {
  const none = { dataDir: undefined, pid: undefined, stop: async () => undefined };
  if (opts.url) return { url: opts.url, engine: 'REDIS_URL', ...none };
  const local = new URL(opts.localUrl);
  if (await redisAnswers(Number(local.port || 6379), local.hostname)) return { url: opts.localUrl, engine: `${opts.localUrl} (already running)`, ...none };

  const dir = opts.dataDir ? join(opts.dataDir, 'redis') : mkdtempSync(join(tmpdir(), 'kw-redis-'));
  if (!opts.dataDir) removeAtExit(dir);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const persistence = opts.dataDir ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  try {
    const child = await startChild(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--maxmemory-policy', 'noeviction'],
      {
        logFile: join(dir, 'redis.log'),
        ready: () => redisAnswers(port),
        timeoutMs: 10_000,
        env: opts.env,
        pidFile: opts.dataDir && join(dir, 'redis-server.pid'),
      },
    );
    return {
      url: `redis://127.0.0.1:${port}`,
      engine: 'redis-server (child)',
      dataDir: dir,
      pid: child.pid,
      async stop() {
        await child.stop();
        if (!opts.dataDir) {
          rmSync(dir, { recursive: true, force: true });
          keepDir(dir);
        }
      },
    };
  } catch (e) {
    if (!opts.dataDir) {
      rmSync(dir, { recursive: true, force: true });
      keepDir(dir);
    }
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'redis-server is not installed' : `redis-server did not start: ${(e as Error).message}`;
    throw new Error(
      `REDIS_URL is unset, nothing answers at ${opts.localUrl} and ${reason}. ` +
        'Install Redis (apt install redis-server, brew install redis, …) or set REDIS_URL.',
    );
  }
}

/** True when a Redis at host:port answers PING within half a second. */
export function redisAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.setTimeout(500);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}
