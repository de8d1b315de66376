import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/keys/key-life.js';
import type { Core } from '../../src/core.js';
import type { FakeSlack, FakeSlackCall } from '../support/fake-slack.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { spawnWorker, type WorkerProcess } from '../support/processes.js';
import type { Receivers } from '../support/receivers.js';
import { captureLogger } from '../support/services.js';
import { WITH_START_MS } from '../support/start-timeout.js';
import { startTestClock, type TestClock } from '../support/test-clock.js';

// Two workers (this process and a child process) share MongoDB, Redis, the queue prefix and
// a moved clock; both run the life scan every ~200 ms.
const T = 'T0LIFE';
const admin = { communityId: T, userId: 'UADMIN1' };
const CHANNEL = 'C0NOTIFY';
const logs = captureLogger('info');

let clock: TestClock;
let stack: JobsStack;
let core: Core;
let slack: FakeSlack;
let receivers: Receivers;
let child: WorkerProcess;

beforeAll(async () => {
  clock = startTestClock();
  const overrides = {
    CLOCK_OFFSET_FILE: clock.file,
    NOTIFY_CHANNEL_ID: CHANNEL,
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    SWEEP_INTERVAL_MS: '200',
    SWEEP_GRACE_MS: '300',
    LOG_LEVEL: 'info',
  };
  stack = await startJobsStack('keylife', logs.log, overrides);
  ({ core, slack, receivers } = stack);
  child = spawnWorker({
    SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
    ADMIN_SLACK_USER_IDS: 'UADMIN1',
    MONGODB_URI: stack.mongo.uri,
    REDIS_URL: stack.config.REDIS_URL,
    QUEUE_PREFIX: stack.config.QUEUE_PREFIX,
    SLACK_API_URL: stack.config.SLACK_API_URL!,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    KW_TEST_LOCK_DURATION_MS: '30000',
    KW_TEST_STALLED_INTERVAL_MS: '30000',
    ...overrides,
  });
  await child.ready;
}, WITH_START_MS);

afterAll(async () => {
  await child?.stop();
  await stack?.close();
  clock?.dispose();
});

const remindersOf = (keyId: string, what: RegExp): FakeSlackCall[] =>
  slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(keyId) && what.test(String(c.args.text)));
const settle = (ms = 1_000) => new Promise((r) => setTimeout(r, ms));

async function waitForPosts(keyId: string, what: RegExp, n: number): Promise<FakeSlackCall[]> {
  const deadline = Date.now() + 15_000;
  while (remindersOf(keyId, what).length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} posts matching ${what} for ${keyId}; got ${remindersOf(keyId, what).length}`);
    await settle(25);
  }
  return remindersOf(keyId, what);
}

describe('reminders before expiry, with two workers', () => {
  it('7 days and 1 day before: once each, to the creator by DM and to the notify channel', async () => {
    const { key } = await core.keys.create(admin, {
      name: 'Reminded key',
      description: 'Reminded twice before expiry',
      roles: ['ic_viewer'],
      expiresInDays: 30,
    });
    const exp = key.expiresAt!.getTime();
    clock.set(exp - 8 * DAY_MS);
    await settle();
    expect(remindersOf(key.keyId, /expires in about/)).toEqual([]);

    // 2 s before the 7-day instant: the scan schedules a delayed job for the instant itself.
    clock.set(exp - 7 * DAY_MS - 2_000);
    const dueReal = Date.now() + 2_000;
    const seven = await waitForPosts(key.keyId, /about 7 days/, 2);
    const lateMs = Math.max(...seven.map((c) => c.at)) - dueReal;
    console.log(`7-day reminder posted ${lateMs} ms after its instant`);
    await settle(1_500); // several scans in both workers: nothing twice
    expect(remindersOf(key.keyId, /about 7 days/)).toHaveLength(2);
    const channels = seven.map((c) => c.args.channel).sort();
    expect(channels).toContain(CHANNEL);
    expect(channels.filter((c) => c !== CHANNEL)).toHaveLength(1); // the creator's DM
    expect(String(seven[0]!.args.text)).toContain('Reminded key');
    expect(JSON.stringify(seven[0]!.args.blocks)).toContain('ic_viewer');

    clock.set(exp - DAY_MS + 10);
    const one = await waitForPosts(key.keyId, /about 1 day/, 2);
    await settle(1_500);
    expect(remindersOf(key.keyId, /about 1 day/)).toHaveLength(2);
    expect(remindersOf(key.keyId, /about 7 days/)).toHaveLength(2);
    expect(one.map((c) => c.args.channel)).toContain(CHANNEL);
    // The key's timeline (`/apikey audit`) shows each reminder once.
    const reminded = (await core.audit.forTarget(admin.communityId, key.keyId)).filter((e) => e.action === 'key.reminded');
    expect(reminded.map((e) => (e.details as { reminder: string }).reminder)).toEqual(['7d', '1d']);
  }, 60_000);
});

describe('at expiry, with two workers', () => {
  it('each dependent gets one api_key.expired, the notice says it expired, the audit has key.expired', async () => {
    const { key, token } = await core.keys.create(admin, {
      name: 'Expiring key',
      description: 'Announced once at expiry',
      roles: ['ic_viewer'],
      expiresInDays: 30,
    });
    const paths = ['/exp/0', '/exp/1', '/exp/2'];
    for (const [i, path] of paths.entries())
      await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: `exp dependent ${i}`, url: receivers.url(path) });
    const exp = key.expiresAt!.getTime();
    clock.set(exp - 2_000);
    const dueReal = Date.now() + 2_000;
    await receivers.waitUntil((r) => paths.every((p) => r.some((x) => x.path === p)), 15_000, 'expiry webhooks');
    const lateMs = Math.max(...paths.map((p) => receivers.receivedOn(p)[0]!.at)) - dueReal;
    console.log(`api_key.expired delivered to all 3 dependents ${lateMs} ms after the expiry instant`);
    const done = await waitForNotificationDone(core, key.keyId, 15_000);
    expect(done.notification).toMatchObject({ event: 'expired', total: 3, delivered: 3 });
    await settle(1_500);
    for (const p of paths) {
      const got = receivers.receivedOn(p);
      expect(got).toHaveLength(1);
      const body = JSON.parse(got[0]!.body);
      expect(body).toEqual({
        type: 'api_key.expired',
        timestamp: key.expiresAt!.toISOString(),
        data: { keyId: key.keyId, name: 'Expiring key', communityId: T, roles: ['ic_viewer'], expiredAt: key.expiresAt!.toISOString() },
      });
      expect(got[0]!.headers['webhook-id']).toMatch(new RegExp(`^msg_${key.keyId}_dep_`));
    }
    const notices = slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(key.keyId) && /expired/.test(String(c.args.text)));
    expect(notices).toHaveLength(2); // the channel and the creator's DM, once each
    const audit = await core.mongo.models.auditEvents.find({ target: key.keyId, action: 'key.expired' }).lean();
    expect(audit).toHaveLength(1);
    expect(await core.keys.verify(token)).toMatchObject({ valid: false, reason: 'expired' });
  }, 60_000);

  it('a revoked key whose expiry passes is not announced again', async () => {
    const { key } = await core.keys.create(admin, {
      name: 'Revoked first',
      description: 'Revoked, then its expiry passes',
      roles: ['ic_viewer'],
      expiresInDays: 30,
    });
    await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: 'rev dependent', url: receivers.url('/rev-then-exp') });
    await core.keys.revoke(admin, key.keyId);
    await waitForNotificationDone(core, key.keyId, 15_000);
    expect(receivers.receivedOn('/rev-then-exp').map((r) => JSON.parse(r.body).type)).toEqual(['api_key.revoked']);
    clock.set(key.expiresAt!.getTime() + 1_000);
    await settle(1_500);
    expect(receivers.receivedOn('/rev-then-exp')).toHaveLength(1);
    expect(await core.mongo.models.auditEvents.countDocuments({ target: key.keyId, action: 'key.expired' })).toBe(0);
  }, 60_000);
});

describe('a roll, with two workers', () => {
  it('each dependent gets one api_key.rolled with keyId, name, rolledAt and previousValidUntil, signed with a stable webhook-id', async () => {
    const { key } = await core.keys.create(admin, { name: 'Rolled key', description: 'Dependents learn of its roll', roles: ['ic_viewer'], expiresInDays: 90 });
    const paths = ['/roll/0', '/roll/1'];
    for (const [i, path] of paths.entries())
      await core.dependents.link(admin, { keyId: key.keyId, kind: 'cti_connector', name: `roll dependent ${i}`, url: receivers.url(path) });
    const { key: rolled } = await core.keys.roll(admin, key.keyId, '24h');
    await receivers.waitUntil((r) => paths.every((p) => r.some((x) => x.path === p)), 15_000, 'roll webhooks');
    await settle(1_500); // several net passes in both workers: nothing twice
    for (const p of paths) {
      const got = receivers.receivedOn(p);
      expect(got).toHaveLength(1);
      expect(JSON.parse(got[0]!.body)).toEqual({
        type: 'api_key.rolled',
        timestamp: rolled.rolledAt!.toISOString(),
        data: {
          keyId: key.keyId,
          name: 'Rolled key',
          communityId: T,
          rolledAt: rolled.rolledAt!.toISOString(),
          previousValidUntil: rolled.previousValidUntil!.toISOString(),
        },
      });
      expect(got[0]!.headers['webhook-id']).toMatch(new RegExp(`^msg_${key.keyId}_dep_\\w+_r[0-9a-z]+$`));
      expect(got[0]!.headers['webhook-signature']).toMatch(/^v1,/);
    }
    // A second roll is a second event, with its own webhook-ids.
    await core.keys.roll(admin, key.keyId, 'none');
    await receivers.waitUntil((r) => paths.every((p) => r.filter((x) => x.path === p).length === 2), 15_000, 'second roll webhooks');
    expect(new Set(receivers.receivedOn(paths[0]!).map((r) => r.headers['webhook-id'])).size).toBe(2);
  }, 60_000);
});
