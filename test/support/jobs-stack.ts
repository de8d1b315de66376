import { randomUUID } from 'node:crypto';
import { createRevocationPublisher, startWorkers } from '../../jobs/index.js';
import type { Config } from '../../src/config/env.js';
import { createCore, type Core } from '../../src/core.js';
import type { Logger } from '../../src/log.js';
import type { KeyRecord } from '../../src/keys/key-record.js';
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
  core.keys.onRevoked(publisher.onRevoked, publisher.onRevokedMany);
  core.keys.onRolled(publisher.onRolled);
  core.dependents.onLateDelivery(publisher.onLateDelivery);
  const workers = await startWorkers(core);
  return {
    mongo,
    slack,
    receivers,
    config,
    core,
    publisher,
    workers,
    async close() {
      await workers.close();
      await publisher.close();
      await core.close();
      await obliterateQueues(config.REDIS_URL, config.QUEUE_PREFIX).catch(() => undefined);
      await Promise.all([mongo.drop(), slack.close(), receivers.close()]);
    },
  };
}

/** Polls MongoDB until the key's revocation notification is done; throws with its state on timeout. */
export async function waitForNotificationDone(core: Core, keyId: string, timeoutMs = 20_000, intervalMs = 50): Promise<KeyRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const key = await core.keyRepo.findByKeyId(keyId);
    if (key?.notification.state === 'done') return key;
    if (Date.now() > deadline) throw new Error(`notification of ${keyId} not done within ${timeoutMs} ms: ${JSON.stringify(key?.notification)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
