import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/index.js';
import type { Core } from '../../src/core.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { startOwnRedis, type OwnRedis } from '../support/processes.js';
import type { Receivers } from '../support/receivers.js';
import { captureLogger } from '../support/services.js';
import { startTestClock, type TestClock } from '../support/test-clock.js';

// Redis is stopped for real here: a redis-server of this file's own, never the shared one.
const T = 'T0LIFEOUT';
const admin = { communityId: T, userId: 'UADMIN1' };
const logs = captureLogger('info');

let clock: TestClock;
let redis: OwnRedis;
let stack: JobsStack;
let core: Core;
let slack: FakeSlack;
let receivers: Receivers;

beforeAll(async () => {
  clock = startTestClock();
  redis = await startOwnRedis();
  stack = await startJobsStack('lifeout', logs.log, {
    REDIS_URL: redis.url,
    CLOCK_OFFSET_FILE: clock.file,
    NOTIFY_CHANNEL_ID: 'C0NOTIFY',
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    SWEEP_INTERVAL_MS: '200',
    SWEEP_GRACE_MS: '300',
    LOG_LEVEL: 'info',
  });
  ({ core, slack, receivers } = stack);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await redis?.dispose();
  clock?.dispose();
});

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const expiryNotices = (keyId: string) =>
  slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(keyId) && /expired/.test(String(c.args.text)));

async function keyWithDependents(name: string, paths: string[]) {
  const created = await core.keys.create(admin, { name, description: 'Expires during an outage', roles: ['ic_viewer'], expiresInDays: 30 });
  for (const [i, path] of paths.entries())
    await core.dependents.link(admin, { keyId: created.key.keyId, kind: 'cti_connector', name: `${name} ${i}`, url: receivers.url(path) });
  return created;
}

describe('an expiry instant passes while Redis is down', () => {
  it('verify says expired at once; once Redis is back the expiry is announced, each dependent exactly once', async () => {
    const paths = ['/redis-exp/0', '/redis-exp/1'];
    const { key, token } = await keyWithDependents('Redis outage key', paths);
    await redis.kill();
    clock.set(key.expiresAt!.getTime() + 500);
    expect(await core.keys.verify(token)).toMatchObject({ valid: false, reason: 'expired' });
    await settle(1_500); // several failed scans in the meantime
    expect(receivers.received.filter((r) => paths.includes(r.path))).toHaveLength(0);

    const back = Date.now();
    await redis.start();
    const done = await waitForNotificationDone(core, key.keyId, 45_000, 100);
    console.log(`announced ${Date.now() - back} ms after Redis came back`);
    expect(done.notification).toMatchObject({ event: 'expired', total: 2, delivered: 2 });
    await settle(1_500);
    for (const p of paths) {
      expect(receivers.receivedOn(p)).toHaveLength(1);
      expect(JSON.parse(receivers.receivedOn(p)[0]!.body).type).toBe('api_key.expired');
    }
    expect(expiryNotices(key.keyId)).toHaveLength(2);
  }, 90_000);
});

describe('an expiry instant passes while every worker is stopped', () => {
  it('is announced once after the workers start again', async () => {
    const paths = ['/stopped-exp/0'];
    const { key } = await keyWithDependents('Stopped workers key', paths);
    await stack.workers.close();
    clock.set(key.expiresAt!.getTime() + 60_000);
    await settle(500);
    expect(receivers.receivedOn(paths[0]!)).toHaveLength(0);
    const restarted = await startWorkers(core);
    stack.workers = restarted;
    await waitForNotificationDone(core, key.keyId, 30_000, 100);
    await settle(1_500);
    expect(receivers.receivedOn(paths[0]!)).toHaveLength(1);
    expect(expiryNotices(key.keyId)).toHaveLength(2);
    expect(await core.mongo.models.auditEvents.countDocuments({ target: key.keyId, action: 'key.expired' })).toBe(1);
  }, 60_000);
});
