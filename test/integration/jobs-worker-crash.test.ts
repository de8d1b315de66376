import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPublisher, startWorkers } from '../../jobs/index.js';
import { revocationJobId } from '../../jobs/queues.js';
import type { Config } from '../../src/config/env.js';
import { createCore, type Core } from '../../src/core.js';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { obliterateQueues, spawnWorker, type WorkerProcess } from '../support/processes.js';
import { ok, slow, startReceivers, type Receivers } from '../support/receivers.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';
import { WITH_START_MS } from '../support/start-timeout.js';

const T = 'T0CRASH';
const admin = { communityId: T, userId: 'UADMIN1' };
const logs = captureLogger('info');
const tuning = { lockDuration: 2_000, stalledInterval: 1_000 };

let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let slack: FakeSlack;
let receivers: Receivers;
let config: Config;
let env: Record<string, string>;
let core: Core;
let publisher: ReturnType<typeof createRevocationPublisher>;
let child: WorkerProcess | undefined;
let workers: { close(): Promise<void> } | undefined;

beforeAll(async () => {
  [mongo, slack, receivers] = await Promise.all([openTestMongo('jobscrash'), startFakeSlack(), startReceivers()]);
  env = {
    SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
    ADMIN_SLACK_USER_IDS: 'UADMIN1',
    MONGODB_URI: mongo.uri,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    SLACK_API_URL: slack.url,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    WEBHOOK_TIMEOUT_MS: '20000',
    SWEEP_INTERVAL_MS: '500',
    SWEEP_GRACE_MS: '500',
    LOG_LEVEL: 'info',
    KW_TEST_LOCK_DURATION_MS: String(tuning.lockDuration),
    KW_TEST_STALLED_INTERVAL_MS: String(tuning.stalledInterval),
  };
  config = testConfig({ ...env, LOG_LEVEL: 'info' });
  env.REDIS_URL = config.REDIS_URL;
  core = createCore(config, logs.log, mongo);
  publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked);
});

afterAll(async () => {
  await child?.kill();
  await workers?.close();
  await publisher?.close();
  await obliterateQueues(config.REDIS_URL, config.QUEUE_PREFIX);
  await Promise.all([mongo?.drop(), slack?.close(), receivers?.close()]);
});

async function fanOutDone(keyId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await publisher.queues.revocations.getJobState(revocationJobId(keyId))) !== 'completed') {
    if (Date.now() > deadline) throw new Error('the fan-out did not complete');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker process killed in the middle of deliveries', () => {
  it(
    'another worker re-runs the fan-out: every dependent notified at least once, duplicates share their webhook-id',
    async () => {
      const { key } = await core.keys.create(admin, { name: 'Crash key', description: 'Delivered across a worker crash', roles: ['ic_viewer'] });
      const paths = Array.from({ length: 6 }, (_, i) => `/crash/${i}`);
      for (const [i, path] of paths.entries()) {
        receivers.on(path, slow(30_000)); // the first worker never hears back
        await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: `crash dependent ${i}`, url: receivers.url(path) });
      }
      child = spawnWorker(env);
      await child.ready;

      await core.keys.revoke(admin, key.keyId);
      await receivers.waitUntil((got) => paths.every((p) => got.some((g) => g.path === p)), 20_000, 'first worker in flight to every dependent');
      await child.kill();
      expect(child.child.signalCode).toBe('SIGKILL');
      const firstRound = receivers.received.length;

      for (const path of paths) receivers.on(path, ok);
      workers = await startWorkers(core, tuning);

      const deadline = Date.now() + 30_000;
      for (;;) {
        const state = (await core.keyRepo.findByKeyId(key.keyId))?.notification.state;
        if (state === 'done') break;
        if (Date.now() > deadline) throw new Error(`not done after the crash: ${state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const processed = new Set<string>(); // what a receiver deduplicating on webhook-id acts on
      for (const path of paths) {
        const got = receivers.receivedOn(path);
        // Sent by the killed worker's fan-out, never recorded; sent again by the re-run.
        expect(got.length).toBeGreaterThanOrEqual(2);
        expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(1);
        for (const g of got) processed.add(String(g.headers['webhook-id']));
      }
      expect(processed.size).toBe(paths.length);
      // The stalled jobs were really taken over (each sent again), not left to the sweeper.
      expect(receivers.received.length).toBeGreaterThan(firstRound);
      const rows = await new DeliveryRepository(mongo.models).forKey(key.keyId);
      expect(rows.map((d) => d.state)).toEqual(paths.map(() => 'delivered'));
    },
    WITH_START_MS,
  );

  it(
    'a retry job that stalled too often fails in BullMQ; the sweeper marks its delivery failed and the notice says so',
    async () => {
      await workers?.close();
      workers = undefined;
      const { key } = await core.keys.create(admin, { name: 'Stalled key', description: 'Its worker dies and nobody may retry', roles: ['ic_viewer'] });
      // The fan-out's own attempt fails at once; the retry (a webhook job) never hears back.
      receivers.on('/stalled/0', (n) => (n === 0 ? { status: 500, body: 'down' } : { status: 200, delayMs: 30_000 }));
      const { dependent } = await core.dependents.link(admin, {
        keyId: key.keyId,
        kind: 'playbook',
        name: 'stalled dependent',
        url: receivers.url('/stalled/0'),
      });
      child = spawnWorker(env);
      await child.ready;
      await core.keys.revoke(admin, key.keyId);
      await receivers.waitUntil((got) => got.filter((g) => g.path === '/stalled/0').length === 2, 20_000, 'the retry in flight');
      await fanOutDone(key.keyId); // the notice is posted and recorded: its updates are what this test reads
      await child.kill();

      // No stall allowed: BullMQ fails the job itself, so the processor never records why.
      workers = await startWorkers(core, { ...tuning, maxStalledCount: 0 });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const state = (await core.keyRepo.findByKeyId(key.keyId))?.notification.state;
        if (state === 'done') break;
        if (Date.now() > deadline) throw new Error(`not done: ${state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [d] = await new DeliveryRepository(mongo.models).forKey(key.keyId);
      expect(d).toMatchObject({ dependentId: dependent.dependentId, state: 'failed' });
      expect(d!.lastError).toMatch(/^gave up: .*stalled/);
      expect(d!.attempts.map((a) => a.status)).toEqual([500]);
      expect(receivers.receivedOn('/stalled/0')).toHaveLength(2);
      await slack.waitFor('chat.update', (c) => String(c.args.text).includes(key.keyId) && /Webhook to stalled dependent FAILED/.test(String(c.args.text)));
    },
    WITH_START_MS,
  );
});
