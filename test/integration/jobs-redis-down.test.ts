import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPublisher } from '../../jobs/index.js';
import type { Config } from '../../src/config/env.js';
import { createCore, type Core } from '../../src/core.js';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { startOwnRedis, type OwnRedis } from '../support/processes.js';
import type { Receivers } from '../support/receivers.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger, type openTestMongo } from '../support/services.js';

// Redis is stopped for real here: a redis-server of this file's own, never the shared one.
const T = 'T0REDIS';
const admin = { communityId: T, userId: 'UADMIN1' };
const logs = captureLogger('info');

let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let redis: OwnRedis;
let slack: FakeSlack;
let receivers: Receivers;
let config: Config;
let core: Core;

let stack: JobsStack | undefined;

beforeAll(async () => {
  redis = await startOwnRedis();
  stack = await startJobsStack('jobsredis', logs.log, {
    REDIS_URL: redis.url,
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    SWEEP_INTERVAL_MS: '200',
    SWEEP_GRACE_MS: '300',
    LOG_LEVEL: 'info',
  });
  ({ mongo, slack, receivers, config, core } = stack);
});

afterAll(async () => {
  await stack?.close();
  await redis?.dispose();
});

const waitForDone = (keyId: string, timeoutMs: number) => waitForNotificationDone(core, keyId, timeoutMs, 100);

describe('Redis down at revoke time', () => {
  it('the revoke succeeds at once; once Redis is back the sweeper delivers, each dependent exactly once', async () => {
    const { key } = await core.keys.create(admin, { name: 'Outage key', description: 'Revoked while Redis is down', roles: ['ic_viewer'] });
    const paths = ['/outage/0', '/outage/1', '/outage/2'];
    for (const [i, path] of paths.entries()) {
      await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: `outage dependent ${i}`, url: receivers.url(path) });
    }

    await redis.kill();
    const started = Date.now();
    const { changed, key: revoked } = await core.keys.revoke(admin, key.keyId);
    const took = Date.now() - started;
    expect(changed).toBe(true);
    expect(revoked.status).toBe('revoked');
    expect(took).toBeLessThan(5_000);
    // The verify path sees it revoked, and the notification waits in MongoDB.
    const stored = await core.keyRepo.findByKeyId(key.keyId);
    expect(stored).toMatchObject({ status: 'revoked', notification: { state: 'pending' } });
    expect(logs.text()).toMatch(/after-revoke step failed; the sweeper will retry it/);

    await new Promise((r) => setTimeout(r, 1_000));
    expect(receivers.received).toHaveLength(0);

    await redis.start();
    const done = await waitForDone(key.keyId, 45_000);
    expect(done.notification).toMatchObject({ total: 3, delivered: 3 });
    await new Promise((r) => setTimeout(r, 1_000)); // several sweeps more: still nothing twice
    for (const path of paths) expect(receivers.receivedOn(path)).toHaveLength(1);
    const rows = await new DeliveryRepository(mongo.models).forKey(key.keyId);
    expect(rows.map((d) => d.attempts.length)).toEqual([1, 1, 1]);
    expect(slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(key.keyId))).toHaveLength(1); // the DM, once
  });

  it('an API process that started while Redis was down still revokes within seconds', async () => {
    const { key } = await core.keys.create(admin, { name: 'Cold start key', description: 'Revoked by a process born in an outage', roles: ['ic_viewer'] });
    await core.dependents.link(admin, { keyId: key.keyId, kind: 'cti_connector', name: 'cold dependent', url: receivers.url('/cold/0') });
    await redis.kill();
    const core2 = createCore(config, logs.log, mongo);
    const publisher2 = createRevocationPublisher(core2);
    core2.keys.onRevoked(publisher2.onRevoked);
    try {
      const started = Date.now();
      const { changed } = await core2.keys.revoke(admin, key.keyId);
      expect(changed).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      await redis.start();
      await waitForDone(key.keyId, 45_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(receivers.receivedOn('/cold/0')).toHaveLength(1);
    } finally {
      await publisher2.close();
      await core2.close();
    }
  });
});
