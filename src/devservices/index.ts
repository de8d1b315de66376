// MongoDB and Redis for `npm start` and the tests when MONGODB_URI / REDIS_URL are unset, so
// that a fresh clone runs with nothing set up. Production sets both (docker compose does).
import { provideMongo, type ProvidedMongo } from './mongo.js';
import { provideRedis, type ProvidedRedis } from './redis.js';

export { provideMongo, type ProvidedMongo } from './mongo.js';
export { provideRedis, type ProvidedRedis } from './redis.js';

export interface DevServices {
  /** MONGODB_URI, or the base URI (no database name) of the server started for us. */
  mongoUri: string;
  redisUrl: string;
  /** The server started for us, when MONGODB_URI was unset. */
  mongo: ProvidedMongo | undefined;
  redis: ProvidedRedis;
  /** Stops whatever was started, Redis last. */
  stop(): Promise<void>;
}

export interface DevServicesOptions {
  mongodbUri: string | undefined;
  redisUrl: string | undefined;
  localRedisUrl: string;
  /** Keep the started servers' data here (npm start); unset: temporary, removed on stop (tests). */
  dataDir?: string;
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
}

/** Starts what is missing; throws one line naming what to install or set. */
export async function provideServices(opts: DevServicesOptions): Promise<DevServices> {
  const redis = await provideRedis({ url: opts.redisUrl, localUrl: opts.localRedisUrl, dataDir: opts.dataDir, env: opts.env });
  let mongo: ProvidedMongo | undefined;
  let mongoUri: string;
  try {
    mongoUri = opts.mongodbUri ?? (mongo = await provideMongo({ dataDir: opts.dataDir, env: opts.env, say: opts.say })).uri;
  } catch (e) {
    await redis.stop();
    throw e;
  }
  return {
    mongoUri,
    redisUrl: redis.url,
    mongo,
    redis,
    async stop() {
      await mongo?.stop();
      await redis.stop();
    },
  };
}
