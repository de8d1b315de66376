// A worker process for tests that kill one: `npx tsx test/support/worker-process.ts` with the
// environment the app would read, plus KW_TEST_LOCK_DURATION_MS / KW_TEST_STALLED_INTERVAL_MS
// so that its jobs are taken over quickly once it is gone.
import { startWorkers } from '../../jobs/index.js';
import { loadConfig, withExternalServices } from '../../src/config/env.js';
import { createCore } from '../../src/core.js';
import { createLogger } from '../../src/log.js';
import { connectMongo } from '../../src/store/mongo.js';

const config = withExternalServices(loadConfig(process.env), 'a test process');
const log = createLogger(config.LOG_LEVEL);
const mongo = await connectMongo(config.MONGODB_URI);
const core = createCore(config, log, mongo);
const ms = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const workers = await startWorkers(core, { lockDuration: ms('KW_TEST_LOCK_DURATION_MS'), stalledInterval: ms('KW_TEST_STALLED_INTERVAL_MS') });
process.once('SIGTERM', () => {
  void (async () => {
    await workers.close();
    await core.close();
    await mongo.close();
    process.exit(0);
  })();
});
