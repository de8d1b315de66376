import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { deliveryIdFor } from '../../src/dependents/delivery-record.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger } from '../support/services.js';

// What a crash or a race half-way through a revocation leaves behind, produced for real on
// MongoDB, Redis and the workers (sweeper running), and what must come of it.
const T = 'T0RACES';
const admin = { communityId: T, userId: 'UADMIN1' };
const logs = captureLogger('info');
let stack: JobsStack;

beforeAll(async () => {
  stack = await startJobsStack('revokeraces', logs.log, {
    SWEEP_INTERVAL_MS: '200',
    SWEEP_GRACE_MS: '300',
    WEBHOOK_RETRY_SCHEDULE: '100,200',
    LOG_LEVEL: 'info',
  });
});

afterAll(() => stack?.close());

const createKey = (name: string) => stack.core.keys.create(admin, { name, description: 'Revocation race tests', roles: ['ic_viewer'] });

describe('a revoke that died between its two writes', () => {
  it('is completed by the sweeper: the key is revoked and its dependent told, once', async () => {
    const { core, receivers } = stack;
    const { key, token } = await createKey('Half done');
    await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: 'half-done receiver', url: receivers.url('/half-done') });
    expect(await core.keys.verify(token)).toMatchObject({ valid: true });

    // Exactly what KeyService.revoke writes first (the deterministic audit event that decides
    // who revokes); the revoker then dies before updating the key.
    const at = new Date();
    expect(
      await core.audit.recordOnce(`key.revoked:${T}:${key.keyId}`, {
        communityId: T,
        actor: 'UADMIN1',
        action: 'key.revoked',
        target: key.keyId,
        details: { name: key.name },
        at,
      }),
    ).toBe(true);
    expect((await core.keyRepo.findByKeyId(key.keyId))?.status).toBe('active');

    // Nobody retries the revoke: the workers' sweeper alone must finish it.
    const done = await waitForNotificationDone(core, key.keyId, 20_000);
    expect(done.status).toBe('revoked');
    expect(done.revokedBy).toBe('UADMIN1');
    expect(done.revokedAt?.getTime()).toBe(at.getTime());
    expect(done.announce?.state).toBe('done');
    expect(await core.keys.verify(token)).toMatchObject({ valid: false, reason: 'revoked' });
    await receivers.waitUntil((r) => r.some((w) => w.path === '/half-done'), 10_000, 'the webhook of the completed revocation');
    await new Promise((r) => setTimeout(r, 600)); // more sweeps: still once
    expect(receivers.receivedOn('/half-done')).toHaveLength(1);
    expect(JSON.parse(receivers.receivedOn('/half-done')[0]!.body)).toMatchObject({
      type: 'api_key.revoked',
      data: { keyId: key.keyId, revokedBy: 'UADMIN1' },
    });
    expect(logs.text()).toContain('sweeper completed a revocation whose revoker died half-way');
  });
});

describe('a link racing a revoke', () => {
  it('a dependent stored after the fan-out read the dependents is still told', async () => {
    const { core, receivers, mongo } = stack;
    const { key } = await createKey('Link race');
    await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: 'early', url: receivers.url('/race/early') });

    // The link passes its checks (the key is active)...
    const plan = await core.dependents.checkLink(admin, { keyId: key.keyId, kind: 'cti_connector', name: 'late', url: receivers.url('/race/late') });
    // ...then, before it is stored, the key is revoked and its fan-out finishes without it.
    await core.keys.revoke(admin, key.keyId);
    const first = await waitForNotificationDone(core, key.keyId);
    expect(first.notification.total).toBe(1);
    await receivers.waitUntil((r) => r.some((w) => w.path === '/race/early'), 10_000, 'the early dependent');
    expect(receivers.receivedOn('/race/late')).toHaveLength(0);

    // Now the link is stored: it finds the key revoked and tells the dependent.
    const linked = await core.dependents.completeLink(plan);
    expect(linked.keyRevoked).toBe(true); // the admin is told the key was revoked meanwhile
    // Its delivery exists as the link returns (the sweeper's fallback would take a pass or more).
    const deliveries = new DeliveryRepository(mongo.models);
    expect((await deliveries.find(deliveryIdFor(key.keyId, linked.dependent.dependentId)))?.state).toMatch(/pending|delivered/);
    await receivers.waitUntil((r) => r.some((w) => w.path === '/race/late'), 10_000, 'the dependent linked during the revoke');
    const body = JSON.parse(receivers.receivedOn('/race/late')[0]!.body) as { type: string; data: { keyId: string } };
    expect(body).toMatchObject({ type: 'api_key.revoked', data: { keyId: key.keyId } });
    await expect
      .poll(async () => (await core.keyRepo.findByKeyId(key.keyId))?.notification, { timeout: 10_000, interval: 100 })
      .toMatchObject({ state: 'done', total: 2, delivered: 2 });
    const rows = await deliveries.forKey(key.keyId);
    expect(rows.map((d) => [d.dependentName, d.state])).toEqual([
      ['early', 'delivered'],
      ['late', 'delivered'],
    ]);
    await new Promise((r) => setTimeout(r, 600)); // more sweeps: each told once
    expect(receivers.receivedOn('/race/early')).toHaveLength(1);
    expect(receivers.receivedOn('/race/late')).toHaveLength(1);
  });

  it('a dependent stored by a process that died before re-reading the key is told by the sweeper', async () => {
    const { core, receivers } = stack;
    const { key } = await createKey('Link race crash');
    await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: 'early', url: receivers.url('/crash/early') });
    await core.keys.revoke(admin, key.keyId);
    await waitForNotificationDone(core, key.keyId);

    // Exactly the insert completeLink makes; the process then dies before reading the key again.
    await core.dependentRepo.insert({
      communityId: T,
      dependentId: 'dep_crashedlink1',
      keyId: key.keyId,
      kind: 'cti_connector',
      name: 'orphan',
      webhookUrl: receivers.url('/crash/orphan'),
      status: 'active',
      signingSecret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3',
      createdBy: 'UADMIN1',
      createdAt: new Date(),
    });
    await receivers.waitUntil((r) => r.some((w) => w.path === '/crash/orphan'), 15_000, 'the orphaned dependent');
    await expect
      .poll(async () => (await core.keyRepo.findByKeyId(key.keyId))?.notification, { timeout: 10_000, interval: 100 })
      .toMatchObject({ state: 'done', total: 2, delivered: 2 });
    await new Promise((r) => setTimeout(r, 600));
    expect(receivers.receivedOn('/crash/orphan')).toHaveLength(1);
    expect(receivers.receivedOn('/crash/early')).toHaveLength(1);
  });

  it('a late delivery added after the notification finished (its reopening lost the race) is counted once it is sent', async () => {
    const { core, receivers, mongo, publisher } = stack;
    const { key } = await createKey('Late count');
    await core.dependents.link(admin, { keyId: key.keyId, kind: 'playbook', name: 'early', url: receivers.url('/count/early') });
    await core.keys.revoke(admin, key.keyId);
    expect((await waitForNotificationDone(core, key.keyId)).notification.total).toBe(1);

    // The state the race leaves: the late dependent and its delivery exist and its webhook is
    // enqueued, but the notification stayed done (reopened before a stale finish landed).
    const late = await core.dependentRepo.insert({
      communityId: T,
      dependentId: 'dep_latecount01',
      keyId: key.keyId,
      kind: 'cti_connector',
      name: 'late',
      webhookUrl: receivers.url('/count/late'),
      status: 'active',
      signingSecret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3',
      createdBy: 'UADMIN1',
      createdAt: new Date(),
    });
    const delivery = { communityId: T, deliveryId: deliveryIdFor(key.keyId, late.dependentId), keyId: key.keyId, dependentId: late.dependentId };
    await new DeliveryRepository(mongo.models).ensure([{ ...delivery, dependentName: late.name }]);
    await publisher.onLateDelivery(delivery);
    await receivers.waitUntil((r) => r.some((w) => w.path === '/count/late'), 10_000, 'the late dependent');
    await expect
      .poll(async () => (await core.keyRepo.findByKeyId(key.keyId))?.notification, { timeout: 10_000, interval: 100 })
      .toMatchObject({ state: 'done', total: 2, delivered: 2 });
  });
});
