import { resolve } from 'node:path';
import { ConfigError, loadConfig, loadDotEnv, withExternalServices, type EnvConfig } from '../config/env.js';
import { createCore, type Core } from '../core.js';
import { prepareSecrets } from '../dependents/secrets-at-rest.js';
import { provideServices } from '../devservices/index.js';
import { createLogger, type Logger } from '../log.js';
import { connectMongo } from '../store/mongo.js';

/** Something started that must be stopped on SIGTERM, last started first stopped. */
export interface Part {
  name: string;
  stop(): Promise<void>;
}

/**
 * The shared life of every entry point: load config (one line per problem, exit 1); for
 * `npm start`, start MongoDB and Redis if their URLs are unset; connect MongoDB (one line,
 * exit 1); build the domain, let `start` add its parts, then stop them all on SIGTERM/SIGINT
 * within SHUTDOWN_GRACE_MS and exit 0.
 */
export async function run(name: string, start: (core: Core) => Promise<Part[]>): Promise<void> {
  let env: EnvConfig;
  try {
    loadDotEnv();
    env = loadConfig();
    // Separate processes must share one MongoDB and one Redis: only `all` starts its own.
    if (name !== 'all') withExternalServices(env, `start:${name}`);
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const line of e.problems) process.stderr.write(`keywarden: ${line}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log: Logger = createLogger(env.LOG_LEVEL);

  const parts: Part[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ graceMs: env.SHUTDOWN_GRACE_MS }, 'shutdown grace period over; exiting');
      process.exit(1);
    }, env.SHUTDOWN_GRACE_MS + 1_000);
    timer.unref();
    for (const part of [...parts].reverse()) {
      try {
        await part.stop();
      } catch (e) {
        log.warn({ part: part.name, err: (e as Error).message }, 'part did not stop cleanly');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  // Before anything starts: a FerretDB build can take minutes, and SIGTERM must still stop cleanly.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  let core: Core;
  try {
    const dataDir = resolve(env.DATA_DIR);
    const services = await provideServices({
      mongodbUri: env.MONGODB_URI,
      redisUrl: env.REDIS_URL,
      localRedisUrl: env.LOCAL_REDIS_URL,
      dataDir,
      env: process.env,
      say: (line) => log.info(line),
    });
    parts.push({ name: 'services', stop: () => services.stop() });
    const { mongo: m, redis: r } = services;
    if (m) log.info({ engine: m.engine, dataDir: m.dataDir, uri: services.mongoUri, childPid: m.pid }, `MongoDB: ${m.engine}, data in ${m.dataDir}`);
    if (r.pid) log.info({ engine: r.engine, dataDir: r.dataDir, url: services.redisUrl, childPid: r.pid }, `Redis: ${r.engine}, data in ${r.dataDir}`);
    else if (!env.REDIS_URL) log.info({ url: services.redisUrl }, `Redis: the one already running at ${services.redisUrl}`);
    const mongo = await connectMongo(services.mongoUri, services.mongo ? { dbName: 'keywarden' } : {});
    parts.push({ name: 'mongodb', stop: () => mongo.close() });
    core = createCore({ ...env, REDIS_URL: services.redisUrl }, log, mongo);
    parts.push({ name: 'core', stop: () => core.close() });
    await prepareSecrets(core.dependentRepo, core.secrets, log);
  } catch (e) {
    process.stderr.write(`keywarden: ${(e as Error).message}\n`);
    process.exit(1);
  }

  try {
    parts.push(...(await start(core)));
  } catch (e) {
    process.stderr.write(`keywarden: ${(e as Error).message}\n`);
    log.error({ err: e }, `${name} failed to start`);
    process.exit(1);
  }
  log.info({ name, port: env.PORT }, 'started');
}
