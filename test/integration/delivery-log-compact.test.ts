import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { deliveryIdFor } from '../../src/dependents/delivery-record.js';
import { openTestMongo } from '../support/services.js';

// The attempt that finishes a delivery is written as its end entry: a fan-out of 1,000
// first-try successes inserts 1,000 log entries, not 2,000, and every reader still sees
// the attempt, the state and the count.
let mongo: Awaited<ReturnType<typeof openTestMongo>>;

beforeAll(async () => {
  mongo = await openTestMongo('deliverylogcompact');
});

afterAll(() => mongo?.drop());

const keyId = 'ak_compact00001';
const row = (dep: string) => ({ communityId: 'T0LOG', deliveryId: deliveryIdFor(keyId, dep), keyId, dependentId: dep, dependentName: `name ${dep}` });

describe('DeliveryRepository log entries', () => {
  it('writes one entry for an attempt that finishes a delivery, and reads it as the attempt and the end', async () => {
    const repo = new DeliveryRepository(mongo.models);
    const [ok, gone, retried] = [row('dep_ok'), row('dep_gone'), row('dep_retried')];
    await repo.ensure([ok, gone, retried]);
    const at = new Date('2026-12-02T10:00:00Z');
    expect(await repo.recordAttempt(ok, 1, { at, status: 204, durationMs: 7 }, 'delivered')).toBe(true);
    expect(await repo.recordAttempt(gone, 1, { at, status: 410, error: 'the receiver answered 410 Gone', durationMs: 3 }, 'gone')).toBe(true);
    expect(await repo.recordAttempt(retried, 1, { at, status: 503, error: 'HTTP 503', durationMs: 4 })).toBe(true);
    expect(await repo.recordAttempt(retried, 2, { at, error: 'timed out after 100 ms', durationMs: 100 }, 'failed')).toBe(true);

    const entries = await mongo.models.deliveryLog.collection.find({ k: keyId }).sort({ _id: 1 }).toArray();
    expect(entries.map((e) => [e._id, e.n, e.f ?? null, e.s ?? null])).toEqual([
      [`${gone.deliveryId}#end`, 1, 'gone', 410],
      [`${ok.deliveryId}#end`, 1, 'delivered', 204],
      [`${retried.deliveryId}#1`, 1, null, 503],
      [`${retried.deliveryId}#end`, 2, 'failed', null],
    ]);

    const byDep = new Map((await repo.forKey(keyId)).map((d) => [d.dependentId, d]));
    expect(byDep.get('dep_ok')).toMatchObject({ state: 'delivered', lastStatus: 204, deliveredAt: at, attempts: [{ at, status: 204, durationMs: 7 }] });
    expect(byDep.get('dep_ok')!.lastError).toBeUndefined();
    expect(byDep.get('dep_gone')).toMatchObject({ state: 'gone', lastStatus: 410, lastError: 'the receiver answered 410 Gone' });
    expect(byDep.get('dep_retried')!.attempts.map((a) => a.status ?? a.error)).toEqual([503, 'timed out after 100 ms']);
    expect(byDep.get('dep_retried')).toMatchObject({ state: 'failed', lastError: 'timed out after 100 ms' });
    expect(await repo.counts(keyId)).toEqual({ total: 3, pending: 0, delivered: 1, failed: 1, gone: 1 });
    expect(await repo.status(ok.deliveryId)).toEqual({ exists: true, final: 'delivered' });
    const progress = await repo.progress(keyId);
    expect(progress.get(ok.deliveryId)).toEqual({ attempts: 1, final: 'delivered' });
    expect(progress.get(retried.deliveryId)).toEqual({ attempts: 2, final: 'failed' });
    await repo.flush();
  });

  it('a duplicate run finishing second records nothing, and one failing its copy of the same attempt is not listed twice', async () => {
    const repo = new DeliveryRepository(mongo.models);
    const d = row('dep_dup');
    await repo.ensure([d]);
    const at = new Date('2026-12-02T11:00:00Z');
    expect(await repo.recordAttempt(d, 1, { at, status: 200, durationMs: 2 }, 'delivered')).toBe(true);
    expect(await repo.recordAttempt(d, 1, { at, status: 200, durationMs: 5 }, 'delivered')).toBe(false);
    // The other run's POST of attempt 1 failed (it will find the delivery final before retrying).
    expect(await repo.recordAttempt(d, 1, { at, status: 502, error: 'HTTP 502', durationMs: 9 })).toBe(true);
    const [rec] = (await repo.forKey(keyId)).filter((r) => r.dependentId === 'dep_dup');
    expect(rec).toMatchObject({ state: 'delivered', lastStatus: 200, attempts: [{ status: 200, durationMs: 2 }] });
    expect(await repo.status(d.deliveryId)).toEqual({ exists: true, final: 'delivered' });
    await repo.flush();
  });
});
