import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, keepDir, portAnswers, removeAtExit, startChild } from './child.js';
import { cacheRoot, FERRETDB_VERSION, ferretdbBinary } from './ferretdb.js';

/** A MongoDB-compatible server started for us because MONGODB_URI is unset. */
export interface ProvidedMongo {
  /** `mongodb://127.0.0.1:<port>/`, without a database name. */
  uri: string;
  /** Which server, for the log: `mongodb-memory-server (MongoDB 8.2.6)` or `FerretDB v1.24.2 (SQLite)`. */
  engine: string;
  /** Where its data lives; a temporary folder (removed on stop) unless `dataDir` was given. */
  dataDir: string;
  /** Its process id. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface ProvideMongoOptions {
  /** Keep the data under `<dataDir>/mongodb` or `<dataDir>/ferretdb` across restarts (npm start); unset: temporary (tests). */
  dataDir?: string;
  /** Where the FerretDB cache (XDG_CACHE_HOME, HOME) and mongodb-memory-server's MONGOMS_* settings are read from. */
  env: NodeJS.ProcessEnv;
  /** A line for the person waiting (a download or build is about to take a while). */
  say: (line: string) => void;
}

type Attempt = (opts: ProvideMongoOptions) => Promise<ProvidedMongo>;

/**
 * mongodb-memory-server first; when it cannot start (not installed, no binary and no way to
 * download one), FerretDB on SQLite, built once from the Go module proxy. With data already
 * kept by one engine under `dataDir` and none by the other, that engine goes first, so a
 * restart finds its data. Throws one line naming what to install or set when neither starts.
 */
export async function provideMongo(opts: ProvideMongoOptions): Promise<ProvidedMongo> {
  const attempts: Array<[string, Attempt]> = [
    ['mongodb-memory-server', memoryServer],
    ['FerretDB', ferretdb],
  ];
  if (opts.dataDir && hasData(join(opts.dataDir, 'ferretdb', 'sqlite')) && !hasData(join(opts.dataDir, 'mongodb'))) attempts.reverse();
  const reasons: string[] = [];
  for (const [name, attempt] of attempts) {
    try {
      return await attempt(opts);
    } catch (e) {
      reasons.push(`${name}: ${oneLine(e)}`);
    }
  }
  throw new Error(
    `MONGODB_URI is unset and no MongoDB could be started here (${reasons.join('; ')}). ` +
      'Set MONGODB_URI to a MongoDB server, or install Go 1.24 or newer (https://go.dev/dl/) so that FerretDB can be built once.',
  );
}

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
const hasData = (dir: string) => existsSync(dir) && readdirSync(dir).length > 0;

async function memoryServer(opts: ProvideMongoOptions): Promise<ProvidedMongo> {
  let mms: typeof import('mongodb-memory-server');
  try {
    mms = await import('mongodb-memory-server');
  } catch {
    throw new Error('not installed (it is a dev dependency: run `npm install` without --omit=dev)');
  }
  const { DryMongoBinary, MongoBinary, MongoMemoryServer } = mms;
  const { version } = DryMongoBinary.getEnsuredOptions();
  if (!(await DryMongoBinary.locateBinary({ version }))) {
    // Its download retries for a long while where the network is cut off; ask once, briefly.
    await assertReachable(opts.env);
    opts.say(`downloading MongoDB ${version} for mongodb-memory-server once…`);
    await MongoBinary.getPath({ version });
  }
  const dataDir = opts.dataDir ? join(opts.dataDir, 'mongodb') : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = await MongoMemoryServer.create(dataDir ? { instance: { dbPath: dataDir, storageEngine: 'wiredTiger' } } : {});
  const info = server.instanceInfo;
  return {
    uri: server.getUri(),
    engine: `mongodb-memory-server (MongoDB ${version})`,
    dataDir: info?.dbPath ?? '',
    pid: info?.instance.mongodProcess?.pid,
    async stop() {
      await server.stop({ doCleanup: !dataDir, force: false });
    },
  };
}

/** Fails within 5 s when the download host does not answer (behind a proxy, the download is left to try). */
async function assertReachable(env: NodeJS.ProcessEnv): Promise<void> {
  if (env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy) return;
  const url = env.MONGOMS_DOWNLOAD_URL || env.MONGOMS_DOWNLOAD_MIRROR || 'https://fastdl.mongodb.org';
  try {
    await fetch(new URL(url).origin, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? oneLine(e);
    throw new Error(`no MongoDB binary here and ${new URL(url).host} cannot be reached to download one (${cause})`);
  }
}

async function ferretdb(opts: ProvideMongoOptions): Promise<ProvidedMongo> {
  const bin = await ferretdbBinary(cacheRoot(opts.env), opts.env, opts.say);
  const dir = opts.dataDir ? join(opts.dataDir, 'ferretdb') : mkdtempSync(join(tmpdir(), 'kw-ferretdb-'));
  if (!opts.dataDir) removeAtExit(dir);
  mkdirSync(join(dir, 'sqlite'), { recursive: true });
  try {
    // A port found free may be taken before FerretDB binds it: try another once.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const child = await startChild(
          bin,
          [
            '--handler=sqlite',
            `--sqlite-url=file:${join(dir, 'sqlite')}/`,
            `--state-dir=${dir}`,
            `--listen-addr=127.0.0.1:${port}`,
            '--debug-addr=127.0.0.1:0',
            '--telemetry=disable',
            '--log-level=warn',
          ],
          {
            logFile: join(dir, 'ferretdb.log'),
            ready: () => portAnswers(port),
            timeoutMs: 30_000,
            env: opts.env,
            pidFile: opts.dataDir && join(dir, 'ferretdb.pid'),
          },
        );
        return {
          uri: `mongodb://127.0.0.1:${port}/`,
          engine: `FerretDB ${FERRETDB_VERSION} (SQLite)`,
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
        if (attempt >= 2 || !/address already in use/.test(oneLine(e))) throw e;
      }
    }
  } catch (e) {
    if (!opts.dataDir) {
      rmSync(dir, { recursive: true, force: true });
      keepDir(dir);
    }
    throw e;
  }
}
