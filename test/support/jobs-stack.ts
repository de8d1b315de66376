import { randomUUID } from 'node:crypto';
import { createRevocationPublisher, startWorkers } from '../../jobs/index.js';
import type { Config } from '../../src/config/env.js';
import { createCore, type Core } from '../../src/core.js';
import type { Logger } from '../../src/log.js';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { obliterateQueues } from './processes.js';
import { startReceivers, type Receivers } from './receivers.js';
import { openTestMongo, testConfig } from './services.js';

/** Everything a jobs test runs against: its own database, queue prefix, fake Slack and receivers. */
export interface JobsStack {
  mongo: Awaited<ReturnType<typeof openTestMongo>>;
  slack: FakeSlack;
  receivers: Receivers;
  config: Config;
  core: Core;
  publisher: ReturnType<typeof createRevocationPublisher>;
  workers: { close(): Promise<void> };
  /** Stops the workers and the publisher, removes the queues and the database. */
  close(): Promise<void>;
}

/**
 * Starts the API side (publisher registered on the key service) and the workers in this
 * process, on a fresh database and a `test-<uuid>` queue prefix. `overrides` are config
 * variables (e.g. REDIS_URL of a test's own redis-server, a short retry schedule).
 */
export async function startJobsStack(label: string, log: Logger, overrides: Record<string, string>): Promise<JobsStack> {
  const [mongo, slack, receivers] = await Promise.all([openTestMongo(label), startFakeSlack(), startReceivers()]);
  const config = testConfig({ QUEUE_PREFIX: `test-${randomUUID()}`, SLACK_API_URL: slack.url, ...overrides });
  const core = createCore(config, log, mongo);
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked);
  const workers = await startWorkers(core);
  return {
    mongo, slack, receivers, config, core, publisher, workers,
    async close() {
      await workers.close();
      await publisher.close();
      await obliterateQueues(config.REDIS_URL, config.QUEUE_PREFIX).catch(() => undefined);
      await Promise.all([mongo.drop(), slack.close(), receivers.close()]);
    },
  };
}
