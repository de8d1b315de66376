import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { deliveryIdFor } from '../../src/dependents/delivery-record.js';
import { openTestMongo } from '../support/services.js';

// Few documents per delivery, and every reader still sees the attempt, the state and the
// count: the fan-out's first attempt is written with the delivery's record (a fan-out of
// 1,000 first-try successes inserts 1,000 documents, not 2,000 or 3,000); a later attempt
// that finishes a delivery is its end entry in the log.
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

  it("writes the fan-out's first attempt with the record, and that insert decides like the log's end", async () => {
    const repo = new DeliveryRepository(mongo.models);
    const createdAt = new Date('2026-12-03T09:00:00Z');
    const at = new Date('2026-12-03T09:00:01Z');
    const [ok, retried, raced, late] = [row('dep_first_ok'), row('dep_first_retried'), row('dep_first_raced'), row('dep_first_late')];

    // Delivered at once: one record, no log entry; a duplicate run finishing second records nothing.
    expect(await repo.recordFirstAttempt({ ...ok, createdAt }, { at, status: 202, durationMs: 4 }, 'delivered')).toBe(true);
    expect(await repo.recordFirstAttempt({ ...ok, createdAt }, { at, status: 200, durationMs: 6 }, 'delivered')).toBe(false);
    expect(await repo.recordFirstAttempt({ ...ok, createdAt }, { at, status: 500, error: 'HTTP 500', durationMs: 6 })).toBe(false);

    // Failed first, then the retry finishes it in the log.
    expect(await repo.recordFirstAttempt({ ...retried, createdAt }, { at, status: 503, error: 'HTTP 503', durationMs: 5 })).toBe(true);
    expect((await repo.progress(keyId)).get(retried.deliveryId)).toEqual({ attempts: 1 });
    expect(await repo.status(retried.deliveryId)).toEqual({ exists: true, final: undefined });
    expect(await repo.recordAttempt(retried, 2, { at, status: 200, durationMs: 3 }, 'delivered')).toBe(true);

    // Two runs sent attempt 1: the first failed and wrote the record; the second succeeded
    // afterwards and finishes it through the log, once.
    expect(await repo.recordFirstAttempt({ ...raced, createdAt }, { at, error: 'ECONNRESET: socket hang up', durationMs: 9 })).toBe(true);
    expect(await repo.recordFirstAttempt({ ...raced, createdAt }, { at, status: 200, durationMs: 2 }, 'delivered')).toBe(true);
    expect(await repo.recordFirstAttempt({ ...raced, createdAt }, { at, status: 200, durationMs: 2 }, 'delivered')).toBe(false);

    // A record written before any attempt (a late link): the attempt and end go to the log.
    await repo.ensure([late]);
    expect(await repo.recordFirstAttempt({ ...late, createdAt }, { at, status: 410, error: 'the receiver answered 410 Gone', durationMs: 1 }, 'gone')).toBe(
      true,
    );

    const ids = [ok, retried, raced, late].map((d) => d.deliveryId);
    const entries = await mongo.models.deliveryLog.collection.find({ d: { $in: ids } }).toArray();
    expect(entries.map((e) => e._id).sort()).toEqual([`${late.deliveryId}#end`, `${raced.deliveryId}#end`, `${retried.deliveryId}#end`].sort());
    const stored = await mongo.models.deliveries.collection.findOne({ _id: ok.deliveryId as never });
    expect(stored).toMatchObject({ state: 'delivered', lastStatus: 202, deliveredAt: at, createdAt, attempts: [{ at, status: 202, durationMs: 4 }] });
    expect(stored).not.toHaveProperty('lastError'); // absent, not null
    expect(stored!.attempts[0]).not.toHaveProperty('error');

    const byDep = new Map((await repo.forKey(keyId)).map((d) => [d.dependentId, d]));
    expect(byDep.get('dep_first_ok')).toMatchObject({ state: 'delivered', lastStatus: 202, deliveredAt: at, attempts: [{ status: 202 }] });
    expect(byDep.get('dep_first_retried')).toMatchObject({
      state: 'delivered',
      lastStatus: 200,
      attempts: [{ status: 503, error: 'HTTP 503' }, { status: 200 }],
    });
    expect(byDep.get('dep_first_raced')).toMatchObject({ state: 'delivered', attempts: [{ error: 'ECONNRESET: socket hang up' }, { status: 200 }] });
    expect(byDep.get('dep_first_late')).toMatchObject({ state: 'gone', lastStatus: 410, attempts: [{ status: 410 }] });
    const progress = await repo.progress(keyId);
    expect(ids.map((id) => progress.get(id))).toEqual([
      { attempts: 1, final: 'delivered' },
      { attempts: 2, final: 'delivered' },
      { attempts: 1, final: 'delivered' },
      { attempts: 1, final: 'gone' },
    ]);
    await repo.flush();
  });
});
