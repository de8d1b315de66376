import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config/env.js';
import { createCore, type Core } from '../core.js';
import { createLogger, type Logger } from '../log.js';
import { connectMongo } from '../store/mongo.js';

/** Something started that must be stopped on SIGTERM, last started first stopped. */
export interface Part {
  name: string;
  stop(): Promise<void>;
}

/**
 * The shared life of every entry point: load config (one line per problem, exit 1), connect
 * MongoDB (one line, exit 1), build the domain, let `start` add its parts, then stop them all
 * on SIGTERM/SIGINT within SHUTDOWN_GRACE_MS and exit 0.
 */
export async function run(name: string, start: (core: Core) => Promise<Part[]>): Promise<void> {
  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const line of e.problems) process.stderr.write(`keywarden: ${line}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log: Logger = createLogger(config.LOG_LEVEL);
  let core: Core;
  try {
    const mongo = await connectMongo(config.MONGODB_URI, { dataDir: config.DATA_DIR });
    core = createCore(config, log, mongo);
  } catch (e) {
    process.stderr.write(`keywarden: ${(e as Error).message}\n`);
    process.exit(1);
  }

  const parts: Part[] = [{ name: 'mongodb', stop: () => core.mongo.close() }, { name: 'core', stop: () => core.close() }];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown grace period over; exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS + 1_000);
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
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    parts.push(...(await start(core)));
  } catch (e) {
    process.stderr.write(`keywarden: ${(e as Error).message}\n`);
    log.error({ err: e }, `${name} failed to start`);
    process.exit(1);
  }
  log.info({ name, port: config.PORT }, 'started');
}
