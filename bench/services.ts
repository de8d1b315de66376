// MongoDB and Redis for the benches: MONGODB_URI / REDIS_URL when set, else servers started
// for the run (as the tests get them), with nothing kept on disk.
import { provideServices } from '../src/devservices/index.js';

/** Starts what is missing and sets MONGODB_URI / REDIS_URL for the benches; returns the stop. */
export async function ensureBenchServices(): Promise<() => Promise<void>> {
  const services = await provideServices({
    mongodbUri: process.env.MONGODB_URI,
    redisUrl: process.env.REDIS_URL,
    localRedisUrl: 'redis://127.0.0.1:6379',
    env: process.env,
    say: (line) => console.log(line),
  });
  process.env.MONGODB_URI = services.mongoUri;
  process.env.REDIS_URL = services.redisUrl;
  if (services.mongo) console.log(`MongoDB: ${services.mongo.engine}`);
  return () => services.stop();
}

/** The servers the benches run against. */
export function benchEnv(): { MONGODB_URI: string; REDIS_URL: string } {
  const { MONGODB_URI, REDIS_URL } = process.env;
  if (!MONGODB_URI || !REDIS_URL) throw new Error('benches need MONGODB_URI and REDIS_URL (bench/run.ts provides them)');
  return { MONGODB_URI, REDIS_URL };
}
