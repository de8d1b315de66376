// A process that gets MongoDB and Redis from src/devservices, prints their pids and folders as
// one JSON line, then exits without stopping them (as a failed start or a shutdown timeout does), so a
// test can check that they do not outlive it. Environment: LOCAL_REDIS_URL (where nothing answers).
import { provideServices } from '../../src/devservices/index.js';

const services = await provideServices({
  mongodbUri: undefined,
  redisUrl: undefined,
  localRedisUrl: process.env.LOCAL_REDIS_URL!,
  env: process.env,
  say: () => undefined,
});
console.log(JSON.stringify({ mongo: services.mongo?.pid, redis: services.redis.pid, dirs: [services.mongo?.dataDir, services.redis.dataDir] }));
process.exit(3);
