import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPublisher, sweep } from '../../jobs/index.js';
import { jobDeps } from '../../jobs/context.js';
import { WebhookSender } from '../../jobs/webhook-sender.js';
import { webhookOutcomes } from '../../src/observability/metrics.js';
import { enqueueRevocation, openQueues, redisConnection, revocationJobId, scheduledDelay, webhookJobId, webhookJobOptions } from '../../jobs/queues.js';
import type { Config } from '../../src/config/env.js';
import { createCore, type Core } from '../../src/core.js';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { alwaysFail, failThenOk, type Behaviour, type Receivers } from '../support/receivers.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';

const T = 'T0JOBS';
const admin = { communityId: T, userId: 'UADMIN1' };
const logs = captureLogger('debug');
const secrets: string[] = [];

let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let slack: FakeSlack;
let receivers: Receivers;
let config: Config;
let core: Core;
let publisher: ReturnType<typeof createRevocationPublisher>;

let stack: JobsStack | undefined;

beforeAll(async () => {
  stack = await startJobsStack('jobsdelivery', logs.log, {
    NOTIFY_CHANNEL_ID: 'C0NOTIFY',
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    SWEEP_INTERVAL_MS: '300',
    SWEEP_GRACE_MS: '1000',
  });
  ({ mongo, slack, receivers, config, core, publisher } = stack);
});

afterAll(() => stack?.close());

/** A key with one dependent per behaviour, each on its own receiver path. */
async function keyWithDependents(label: string, behaviours: Behaviour[]) {
  const { key } = await core.keys.create(admin, { name: `${label} key`, description: `Used by the ${label} test`, roles: ['ic_viewer'] });
  const deps = [];
  for (const [i, behaviour] of behaviours.entries()) {
    const path = `/${label}/${i}`;
    receivers.on(path, behaviour);
    const { dependent, secret } = await core.dependents.link(admin, {
      keyId: key.keyId,
      kind: i % 2 ? 'cti_connector' : 'playbook',
      name: `${label} dependent ${i}`,
      url: receivers.url(path),
    });
    secrets.push(secret);
    deps.push({ dependent, secret, path });
  }
  return { key, deps };
}

const waitForDone = (keyId: string, timeoutMs?: number) => waitForNotificationDone(core, keyId, timeoutMs);

async function waitForJobState(jobId: string, state: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await publisher.queues.revocations.getJobState(jobId)) !== state) {
    if (Date.now() > deadline) throw new Error(`${jobId} not ${state} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const deliveries = () => new DeliveryRepository(mongo.models);

describe('a revoked key with three dependents', () => {
  it('sends each exactly one request, signed with its own secret, naming the key', async () => {
    const { key, deps } = await keyWithDependents('three', [failThenOk(0), failThenOk(0), failThenOk(0)]);
    const { changed } = await core.keys.revoke(admin, key.keyId);
    expect(changed).toBe(true);
    const done = await waitForDone(key.keyId);
    expect(done.notification).toMatchObject({ state: 'done', total: 3, delivered: 3, failed: 0, gone: 0 });
    await new Promise((r) => setTimeout(r, 500)); // anything duplicated would arrive by now

    for (const { path, secret, dependent } of deps) {
      const got = receivers.receivedOn(path);
      expect(got).toHaveLength(1);
      const [req] = got;
      const headers = {
        'webhook-id': String(req!.headers['webhook-id']),
        'webhook-timestamp': String(req!.headers['webhook-timestamp']),
        'webhook-signature': String(req!.headers['webhook-signature']),
      };
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
      const event = new Webhook(secret).verify(req!.body, headers) as Record<string, any>;
      expect(event).toMatchObject({
        type: 'api_key.revoked',
        data: { keyId: key.keyId, name: key.name, communityId: T, roles: ['ic_viewer'], revokedBy: 'UADMIN1' },
      });
      expect(Date.parse(event.timestamp)).toBe(done.revokedAt!.getTime());
      // Another dependent's secret does not verify it.
      const other = deps.find((d) => d.dependent.dependentId !== dependent.dependentId)!;
      expect(() => new Webhook(other.secret).verify(req!.body, headers)).toThrow();
    }
    const rows = await deliveries().forKey(key.keyId);
    expect(rows.map((d) => [d.state, d.attempts.length, d.lastStatus])).toEqual([
      ['delivered', 1, 200],
      ['delivered', 1, 200],
      ['delivered', 1, 200],
    ]);
    // One document per delivery decided by its first POST: the record carries the attempt.
    expect(await mongo.models.deliveries.collection.countDocuments({ keyId: key.keyId })).toBe(3);
    expect(await mongo.models.deliveryLog.collection.countDocuments({ k: key.keyId })).toBe(0);
  });

  it('posts the notice to the channel and DMs the creator, then updates it, with no secret anywhere', async () => {
    const { key, deps } = await keyWithDependents('notice', [failThenOk(0), failThenOk(0)]);
    await core.keys.revoke(admin, key.keyId);
    await waitForDone(key.keyId);
    const posts = slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(key.keyId));
    expect(posts.map((p) => p.args.channel).sort()).toEqual(['C0NOTIFY', 'DUADMIN1']);
    expect(slack.callsOf('conversations.open').some((c) => c.args.users === 'UADMIN1')).toBe(true);
    const first = JSON.stringify(posts[0]!.args);
    expect(first).toContain('notice key');
    expect(first).toContain('<@UADMIN1>');
    expect(first).toContain(deps[0]!.dependent.name);
    for (const channel of ['C0NOTIFY', 'DUADMIN1']) {
      await slack.waitFor(
        'chat.update',
        (c) => c.args.channel === channel && String(c.args.text).includes(key.keyId) && /All 2 dependents handled: 2 notified/.test(String(c.args.text)),
      );
    }
    const everything = JSON.stringify(slack.calls) + logs.text();
    for (const s of secrets) expect(everything).not.toContain(s.slice('whsec_'.length));
  });
});

describe('retries', () => {
  it('a receiver failing twice then answering 200 gets three attempts on the schedule, and is delivered', async () => {
    const { key, deps } = await keyWithDependents('flaky', [failThenOk(2, 500)]);
    await core.keys.revoke(admin, key.keyId);
    const done = await waitForDone(key.keyId);
    expect(done.notification).toMatchObject({ delivered: 1, failed: 0 });
    const got = receivers.receivedOn(deps[0]!.path);
    expect(got).toHaveLength(3);
    // Same webhook-id on every attempt; the delays follow 100, 200 ms ±20%.
    expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(1);
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(75);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(155);
    const [d] = await deliveries().forKey(key.keyId);
    expect(d!.state).toBe('delivered');
    expect(d!.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(d!.attempts[0]!.error).toMatch(/HTTP 500/);
    const update = await slack.waitFor('chat.update', (c) => String(c.args.text).includes(key.keyId) && /1 notified/.test(String(c.args.text)));
    expect(JSON.stringify(update.args.blocks)).toContain('after 3 attempts');
  });

  it('a receiver that always fails stops after the configured attempts, is marked failed, and the notice says so plainly', async () => {
    const outcomes = async () => Object.fromEntries((await webhookOutcomes.get()).values.map((v) => [v.labels.outcome, v.value]));
    const before = await outcomes();
    const { key, deps } = await keyWithDependents('dead', [alwaysFail(503), failThenOk(0)]);
    await core.keys.revoke(admin, key.keyId);
    const done = await waitForDone(key.keyId);
    expect(done.notification).toMatchObject({ total: 2, delivered: 1, failed: 1 });
    await new Promise((r) => setTimeout(r, 800)); // longer than the whole schedule: no fourth try
    expect(receivers.receivedOn(deps[0]!.path)).toHaveLength(3); // 2 delays + 1
    const failed = (await deliveries().forKey(key.keyId)).find((d) => d.dependentId === deps[0]!.dependent.dependentId)!;
    expect(failed.state).toBe('failed');
    expect(failed.attempts.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(failed.lastError).toMatch(/^HTTP 503.*still down/);
    const update = await slack.waitFor('chat.update', (c) => String(c.args.text).includes(key.keyId) && /could NOT be notified/.test(String(c.args.text)));
    expect(String(update.args.text)).toContain(`Webhook to ${deps[0]!.dependent.name} FAILED after 3 attempts: HTTP 503`);
    expect(JSON.stringify(update.args.blocks)).toContain('*NOT notified*');
    const after = await outcomes();
    expect((after.retrying ?? 0) - (before.retrying ?? 0)).toBe(2);
    expect((after.failed ?? 0) - (before.failed ?? 0)).toBe(1);
    expect((after.delivered ?? 0) - (before.delivered ?? 0)).toBe(1);
  });

  it('a receiver cannot put a mention or a disguised link into the notice, nor can key and dependent names', async () => {
    const evil = '<!channel> urgent: sign in again at <https://evil.example|https://sso.corp.example> &amp; <@U0BOSS>';
    const { key } = await core.keys.create(admin, { name: '<!here> billing', description: 'injection test', roles: ['ic_viewer'] });
    receivers.on('/inject/0', () => ({ status: 500, statusMessage: 'Relogin <!channel>', body: evil }));
    const { dependent } = await core.dependents.link(admin, {
      keyId: key.keyId,
      kind: 'playbook',
      name: '<!channel> <https://evil.example|runbook>',
      url: receivers.url('/inject/0'),
    });
    await core.keys.revoke(admin, key.keyId);
    await waitForDone(key.keyId);
    const failed = (await deliveries().forKey(key.keyId)).find((d) => d.dependentId === dependent.dependentId)!;
    expect(failed.state).toBe('failed');
    // Stored: the status, and the body without the characters links and mentions are built from.
    expect(failed.lastError).toMatch(/^HTTP 500: /);
    expect(failed.lastError).not.toMatch(/[<>|&]/);
    expect(failed.lastError).not.toContain('Relogin'); // the receiver's reason phrase is never kept
    await slack.waitFor('chat.update', (c) => String(c.args.text).includes(key.keyId) && /could NOT be notified/.test(String(c.args.text)));
    const sent = slack.calls.filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && String(c.args.text).includes(key.keyId));
    expect(sent.map((c) => c.method)).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update']));
    for (const call of sent) {
      for (const surface of [String(call.args.text), JSON.stringify(call.args.blocks)]) {
        expect(surface).not.toMatch(/<!(channel|here)/);
        expect(surface).not.toMatch(/<https?:/);
        expect(surface).not.toContain('<@U0BOSS');
        expect(surface).toContain('&lt;!here&gt; billing');
      }
    }
    const last = sent[sent.length - 1]!;
    expect(String(last.args.text)).toContain('Webhook to &lt;!channel&gt; &lt;https://evil.example|runbook&gt; FAILED');
  });

  it('a 410 marks the dependent gone, without retrying', async () => {
    const { key, deps } = await keyWithDependents('gone', [alwaysFail(410)]);
    await core.keys.revoke(admin, key.keyId);
    const done = await waitForDone(key.keyId);
    expect(done.notification).toMatchObject({ total: 1, gone: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(receivers.receivedOn(deps[0]!.path)).toHaveLength(1);
    const [listed] = await core.dependents.listForKey(admin, key.keyId);
    expect(listed!.status).toBe('gone');
    expect((await core.audit.forTarget(T, key.keyId)).map((e) => e.action)).toContain('dependent.gone');
  });
});

describe('never twice', () => {
  it('a double revoke from two services on separate connections makes one job and one webhook per dependent', async () => {
    const { key, deps } = await keyWithDependents('double', [failThenOk(0), failThenOk(0), failThenOk(0)]);
    const mongo2 = await openTestMongo('unused');
    // A second process: its own connection to the same database, its own publisher.
    const { connectMongo } = await import('../../src/store/mongo.js');
    const other = await connectMongo(mongo.uri, { dbName: mongo.dbName });
    const core2 = createCore(config, logs.log, other);
    const publisher2 = createRevocationPublisher(core2);
    core2.keys.onRevoked(publisher2.onRevoked);
    try {
      const results = await Promise.all([core.keys.revoke(admin, key.keyId), core2.keys.revoke(admin, key.keyId)]);
      expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
      await waitForDone(key.keyId);
      await new Promise((r) => setTimeout(r, 500));
      for (const d of deps) expect(receivers.receivedOn(d.path)).toHaveLength(1);
      const revJobs = (await publisher.queues.revocations.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'])).filter(
        (j) => j.data.keyId === key.keyId,
      );
      expect(revJobs.map((j) => j.id)).toEqual([revocationJobId(key.keyId)]);
      // The fan-out sent every first attempt itself: webhook jobs exist only for retries.
      const whJobs = (await publisher.queues.webhooks.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'])).filter(
        (j) => j.data.keyId === key.keyId,
      );
      expect(whJobs).toEqual([]);
      const rows = await deliveries().forKey(key.keyId);
      expect(rows.map((d) => [d.state, d.attempts.length])).toEqual(deps.map(() => ['delivered', 1]));
    } finally {
      await publisher2.close();
      await other.close();
      await mongo2.drop();
    }
  });

  it('enqueueing again, sweeping, or re-running a finished revocation notifies no one twice', async () => {
    const { key, deps } = await keyWithDependents('again', [failThenOk(0), failThenOk(0)]);
    await core.keys.revoke(admin, key.keyId);
    await waitForDone(key.keyId);
    const postsBefore = slack.callsOf('chat.postMessage').length;
    await waitForJobState(revocationJobId(key.keyId), 'completed');
    // While the job is kept, the same id is a no-op.
    await enqueueRevocation(publisher.queues.revocations, key);
    // Even if the finished job had expired from Redis, a re-run finds the work done in MongoDB.
    await (await publisher.queues.revocations.getJob(revocationJobId(key.keyId)))!.remove();
    await enqueueRevocation(publisher.queues.revocations, key);
    const connection = redisConnection(config, logs.log, 'worker');
    const queues = openQueues(config, connection, logs.log);
    try {
      await sweep(jobDeps(core, queues));
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      await queues.revocations.close();
      await queues.webhooks.close();
      connection.disconnect();
    }
    for (const d of deps) expect(receivers.receivedOn(d.path)).toHaveLength(1);
    expect(slack.callsOf('chat.postMessage').length).toBe(postsBefore);
  });

  it('a key with no dependents is done at once, and the notice says there was nothing to notify', async () => {
    const { key } = await keyWithDependents('lonely', []);
    await core.keys.revoke(admin, key.keyId);
    const done = await waitForDone(key.keyId);
    expect(done.notification).toMatchObject({ total: 0 });
    const post = await slack.waitFor('chat.postMessage', (c) => String(c.args.text).includes(key.keyId));
    expect(String(post.args.text)).toContain('No dependents were linked');
  });
});

describe('the sweeper', () => {
  it('re-creates a retry job lost from Redis after the fan-out ran, and the dependent is notified once more', async () => {
    // The first attempt (made by the fan-out) fails: the retry is a webhook job, then lost.
    const { key, deps } = await keyWithDependents('lost', [failThenOk(1)]);
    const webhooks = publisher.queues.webhooks;
    await webhooks.pause();
    try {
      await core.keys.revoke(admin, key.keyId);
      await waitForJobState(revocationJobId(key.keyId), 'completed');
      const id = webhookJobId(key.keyId, deps[0]!.dependent.dependentId);
      await (await webhooks.getJob(id))!.remove();
      expect(await webhooks.getJobState(id)).toBe('unknown');
      // Within SWEEP_GRACE_MS + SWEEP_INTERVAL_MS the sweeper puts it back.
      const deadline = Date.now() + 10_000;
      while ((await webhooks.getJobState(id)) === 'unknown') {
        if (Date.now() > deadline) throw new Error('the sweeper did not re-create the webhook job');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await webhooks.resume();
    }
    await waitForDone(key.keyId);
    await new Promise((r) => setTimeout(r, 500));
    const got = receivers.receivedOn(deps[0]!.path);
    expect(got).toHaveLength(2);
    expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(1);
    const [d] = await deliveries().forKey(key.keyId);
    expect(d!.attempts.map((a) => a.status)).toEqual([500, 200]);
  });
});

describe('the retry schedule', () => {
  it('waits the configured delay ±20% before each retry, the last delay again past the end', () => {
    const schedule = [5_000, 300_000, 1_800_000];
    expect(scheduledDelay(schedule, 1, () => 0)).toBe(4_000);
    expect(scheduledDelay(schedule, 1, () => 1)).toBe(6_000);
    expect(scheduledDelay(schedule, 2, () => 0.5)).toBe(300_000);
    expect(scheduledDelay(schedule, 3, () => 0.5)).toBe(1_800_000);
    expect(scheduledDelay(schedule, 9, () => 0.5)).toBe(1_800_000);
    for (let i = 0; i < 200; i++) {
      const d = scheduledDelay(schedule, 2);
      expect(d).toBeGreaterThanOrEqual(240_000);
      expect(d).toBeLessThanOrEqual(360_000);
    }
  });

  it('allows one attempt more than there are delays, and carries ids only', () => {
    const opts = webhookJobOptions(testConfig({ WEBHOOK_RETRY_SCHEDULE: '5000,300000,1800000' }), 'ak_x', 'dep_y');
    expect(opts).toMatchObject({ jobId: 'wh-ak_x-dep_y', attempts: 4, backoff: { type: 'schedule' } });
    // The production default: Standard Webhooks' schedule, about a day in all.
    const total = testConfig().WEBHOOK_RETRY_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeGreaterThan(20);
    expect(total / 3_600_000).toBeLessThan(32);
  });
});

describe('the address check at delivery time', () => {
  it('refuses to connect when the name now resolves to loopback (DNS rebinding), without retrying', async () => {
    const strict = new WebhookSender({ allowPrivate: false, timeoutMs: 2_000, maxSockets: 2 });
    const before = receivers.received.length;
    try {
      const port = new URL(receivers.origin).port;
      const byName = await strict.post(`https://localhost:${port}/rebound`, '{}', {});
      expect(byName).toMatchObject({ blocked: true });
      expect(byName.error).toMatch(/refused: localhost resolves to \S+ is not a public address/);
      const literal = await strict.post(`https://127.0.0.1:${port}/literal`, '{}', {});
      expect(literal).toMatchObject({ blocked: true, error: 'refused: 127.0.0.1 is not a public address (loopback)' });
      expect((await strict.post(receivers.url('/plain'), '{}', {})).error).toMatch(/must use https/);
      expect(receivers.received.length).toBe(before);
    } finally {
      strict.close();
    }
  });
});
