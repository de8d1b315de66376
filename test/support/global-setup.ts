import type { TestProject } from 'vitest/node';
import { provideServices } from '../../src/devservices/index.js';
import { ensureBuilt } from './build.js';
import { waitForRedis } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URI of the MongoDB-compatible server, without a database name. */
    mongoBaseUri: string;
    redisUrl: string;
  }
}

/**
 * MongoDB and Redis for the whole run, from the same module as `npm start`'s: MONGODB_URI,
 * else mongodb-memory-server, else FerretDB (built once); REDIS_URL, else a Redis on 6379
 * (LOCAL_REDIS_URL), else a redis-server child. Nothing is kept on disk. Fails loudly when
 * none can be had: a suite that silently skipped its integration tests would be lying.
 * Also brings dist/ up to date, which the end-to-end tests of `npm start` run.
 */
export default async function setup(project: TestProject) {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const services = await provideServices({
    mongodbUri: process.env.MONGODB_URI,
    redisUrl: process.env.REDIS_URL,
    localRedisUrl: process.env.LOCAL_REDIS_URL || 'redis://127.0.0.1:6379',
    env: process.env,
    say,
  }).catch((e: Error) => {
    throw new Error(`No database for the tests: ${e.message}`);
  });
  try {
    if (process.env.REDIS_URL) {
      const u = new URL(process.env.REDIS_URL);
      await waitForRedis(Number(u.port || 6379), 2_000, u.hostname).catch(() => {
        throw new Error(`No Redis for the tests: REDIS_URL=${process.env.REDIS_URL} does not answer.`);
      });
    }
    say(`tests: MongoDB ${services.mongo ? `from ${services.mongo.engine}` : 'from MONGODB_URI'}, Redis ${services.redis.engine}`);
    await ensureBuilt(say);
  } catch (e) {
    await services.stop();
    throw e;
  }

  project.provide('mongoBaseUri', services.mongoUri);
  project.provide('redisUrl', services.redisUrl);
  return () => services.stop();
}
