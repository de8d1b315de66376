import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provideMongo, provideRedis } from '../../src/devservices/index.js';
import { freePort } from '../support/ports.js';
import { redisUrl } from '../support/services.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** Whether a process is still running (a zombie, exited but not yet reaped, is not). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};
async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** PATH without the folders that hold `go` and `redis-server`: a machine without them. */
const pathWithout = (...commands: string[]) => {
  const real = (d: string) => {
    try {
      return realpathSync(d);
    } catch {
      return d;
    }
  };
  const drop = new Set(
    commands.map((c) => {
      try {
        return real(dirname(execFileSync('which', [c]).toString().trim()));
      } catch {
        return '';
      }
    }),
  );
  return (process.env.PATH ?? '')
    .split(':')
    .filter((d) => !drop.has(real(d)))
    .join(':');
};

/**
 * A download mirror that accepts connections and never answers: a network that drops packets.
 * mongodb-memory-server alone would wait 60 s per attempt, three attempts.
 */
let blackHole: Server;
const sockets: Socket[] = [];
const say: string[] = [];
const tmp: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  blackHole = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  // mongodb-memory-server reads its settings from process.env itself (this file has its own
  // process): a version no cache holds, to be fetched from the black hole.
  process.env.MONGOMS_VERSION = '7.0.99';
  process.env.MONGOMS_DOWNLOAD_MIRROR = `http://127.0.0.1:${(blackHole.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const k of ['MONGOMS_VERSION', 'MONGOMS_DOWNLOAD_MIRROR'])
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  for (const s of sockets) s.destroy();
  await new Promise((r) => blackHole.close(r));
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('MongoDB when MONGODB_URI is unset', () => {
  it('mongodb-memory-server cannot download a binary: FerretDB on SQLite serves, soon, and nothing is left after stop', async () => {
    const t0 = Date.now();
    const mongo = await provideMongo({ env: process.env, say: (l) => say.push(l) });
    const elapsed = Date.now() - t0;
    try {
      expect(mongo.engine).toBe('FerretDB v1.24.2 (SQLite)');
      // Well under the minutes mongodb-memory-server would spend on the silent mirror (a
      // FerretDB build, on a machine whose cache is empty, is not counted here: the suite's
      // set-up has built it already).
      expect(elapsed).toBeLessThan(30_000);
      const conn = await mongoose.createConnection(mongo.uri, { dbName: 'kw_devservices' }).asPromise();
      await conn.db!.collection('things').insertOne({ _id: 'a' as never, n: 1 });
      expect(await conn.db!.collection('things').findOne({ _id: 'a' as never })).toEqual({ _id: 'a', n: 1 });
      await conn.close();
      expect(alive(mongo.pid!)).toBe(true);
      expect(existsSync(mongo.dataDir)).toBe(true);
    } finally {
      await mongo.stop();
    }
    expect(alive(mongo.pid!)).toBe(false);
    expect(existsSync(mongo.dataDir)).toBe(false);
  }, 60_000);

  it('neither can start: one line that says what to install or set', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'kw-nocache-'));
    tmp.push(cache);
    const env = { ...process.env, XDG_CACHE_HOME: cache, PATH: pathWithout('go') };
    const err = await provideMongo({ env, say: (l) => say.push(l) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^MONGODB_URI is unset and no MongoDB could be started here \(mongodb-memory-server: [^;]*127\.0\.0\.1[^;]*; FerretDB: Go is not installed[^)]*\)\)\. Set MONGODB_URI to a MongoDB server, or install Go 1\.24 or newer/,
    );
    expect(err?.message).not.toContain('\n');
    expect(say).not.toContain('building FerretDB v1.24.2 once (about 2 minutes)…');
  }, 60_000);
});

describe('Redis when REDIS_URL is unset', () => {
  it('uses the Redis that answers on the local URL, starting nothing', async () => {
    const r = await provideRedis({ url: undefined, localUrl: redisUrl() });
    expect(r).toMatchObject({ url: redisUrl(), pid: undefined });
  });

  it('nothing answers there: a redis-server child with noeviction and nothing on disk, gone after stop', async () => {
    const r = await provideRedis({ url: undefined, localUrl: `redis://127.0.0.1:${await freePort()}` });
    const client = new Redis(r.url, { maxRetriesPerRequest: 1 });
    try {
      expect(r.engine).toBe('redis-server (child)');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
    } finally {
      client.disconnect();
      await r.stop();
    }
    expect(alive(r.pid!)).toBe(false);
    expect(existsSync(r.dataDir!)).toBe(false);
  });

  it('with a data folder (npm start): AOF on, under <dataDir>/redis', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kw-redis-data-'));
    tmp.push(dataDir);
    const r = await provideRedis({ url: undefined, localUrl: `redis://127.0.0.1:${await freePort()}`, dataDir });
    const client = new Redis(r.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', join(dataDir, 'redis')]);
    } finally {
      client.disconnect();
      await r.stop();
    }
  });

  it('no redis-server installed: one line that says what to install or set', async () => {
    const err = await provideRedis({
      url: undefined,
      localUrl: `redis://127.0.0.1:${await freePort()}`,
      env: { ...process.env, PATH: pathWithout('redis-server') },
    }).then(
      async (r) => {
        await r.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^REDIS_URL is unset, nothing answers at redis:\/\/127\.0\.0\.1:\d+ and redis-server is not installed\. Install Redis \(apt install redis-server, brew install redis, …\) or set REDIS_URL\.$/,
    );
  });
});

describe('children never outlive their parent', () => {
  it('a process that exits without stopping them takes them and their temporary folders with it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/devservices-process.ts'], {
      cwd: root,
      env: { ...process.env, LOCAL_REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(3);
    const pids = JSON.parse(out.trim().split('\n').pop()!) as { mongo: number; redis: number; dirs: string[] };
    expect(pids.redis).toBeGreaterThan(0);
    expect(pids.mongo).toBeGreaterThan(0);
    await until('the children exit', () => !alive(pids.redis) && !alive(pids.mongo));
    expect(pids.dirs.filter((d) => existsSync(d))).toEqual([]);
  }, 60_000);
});

describe('a data folder in use', () => {
  it('a server whose parent is still running is not taken over: one line says to stop it or share its URIs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kw-inuse-'));
    tmp.push(dataDir);
    // Another Keywarden (a live process of its own) started the Redis on this folder.
    const owner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const first = await provideRedis({ url: undefined, localUrl: `redis://127.0.0.1:${await freePort()}`, dataDir });
    try {
      const pidFile = join(dataDir, 'redis', 'redis-server.pid');
      const [childPid] = readFileSync(pidFile, 'utf8').trim().split(' ');
      writeFileSync(pidFile, `${childPid} ${owner.pid}\n`);
      const err = await provideRedis({ url: undefined, localUrl: `redis://127.0.0.1:${await freePort()}`, dataDir }).then(
        async (r) => {
          await r.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        /belongs to a Keywarden that is still running \(pid \d+\): stop it first, or give this process the same MONGODB_URI and REDIS_URL/,
      );
      expect(alive(first.pid!)).toBe(true);

      // Once that owner is gone, the server is a leftover and the next start stops it.
      owner.kill('SIGKILL');
      await new Promise((r) => owner.once('exit', r));
      const second = await provideRedis({ url: undefined, localUrl: `redis://127.0.0.1:${await freePort()}`, dataDir });
      await second.stop();
      await until('the leftover exits', () => !alive(first.pid!));
    } finally {
      owner.kill('SIGKILL');
      await first.stop();
    }
  }, 60_000);
});
