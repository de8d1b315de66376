import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { deliveryIdFor } from '../../src/dependents/delivery-record.js';
import { DependentRepository } from '../../src/store/dependent-repository.js';
import { SecretBox } from '../../src/dependents/secret-box.js';
import { BatchedInserter, insertCommand } from '../../src/store/batched-inserter.js';
import { DependentsReader } from '../../jobs/dependents-reader.js';
import { openTestMongo } from '../support/services.js';

// The delivery log and its batched writer on the real database: outcomes gathered over a
// few milliseconds into one insertMany, duplicates of a deterministic id reported as such,
// and nothing waiting lost when the process stops.
let mongo: Awaited<ReturnType<typeof openTestMongo>>;

beforeAll(async () => {
  mongo = await openTestMongo('deliverylog');
});

afterAll(() => mongo?.drop());

type Row = { _id: string; v: number };

/** A writer into a scratch collection that notes the size of every insertMany it makes. */
function inserter(lingerMs: number, maxBatch = 500) {
  const batches: number[] = [];
  const collection = mongo.conn.db!.collection<Row>(`batched_${Math.random().toString(36).slice(2, 8)}`);
  const writer = new BatchedInserter<Row>(
    async (docs) => {
      batches.push(docs.length);
      return collection.insertMany(docs, { ordered: false });
    },
    { lingerMs, maxBatch },
  );
  return { writer, batches, collection };
}

describe('BatchedInserter', () => {
  it('writes inserts made within the linger time with one insertMany, and says which ids were already taken', async () => {
    const { writer, batches, collection } = inserter(20);
    await collection.insertOne({ _id: 'taken', v: 0 });
    const results = await Promise.all([...Array.from({ length: 40 }, (_, i) => writer.insert({ _id: `r${i}`, v: i })), writer.insert({ _id: 'taken', v: 1 })]);
    expect(results.slice(0, 40)).toEqual(Array.from({ length: 40 }, () => 'inserted'));
    expect(results[40]).toBe('duplicate');
    expect(batches).toEqual([41]);
    expect(await collection.countDocuments()).toBe(41);
    expect((await collection.findOne({ _id: 'taken' }))?.v).toBe(0); // the first insert decided
    await writer.close();
  });

  it('through the insert command itself (answered, not thrown, write errors) also says which ids were taken, in a batch of mixed results', async () => {
    const name = `batched_cmd_${Math.random().toString(36).slice(2, 8)}`;
    const collection = mongo.conn.db!.collection<Row>(name);
    await collection.insertMany([
      { _id: 'c3', v: -3 },
      { _id: 'c7', v: -7 },
    ]);
    const writer = new BatchedInserter<Row>(
      insertCommand(() => mongo.conn.db, name),
      { lingerMs: 20, maxBatch: 500 },
    );
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => writer.insert({ _id: `c${i}`, v: i })));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => (i === 3 || i === 7 ? 'duplicate' : 'inserted')));
    expect(await collection.countDocuments()).toBe(10);
    expect((await collection.findOne({ _id: 'c7' }))?.v).toBe(-7); // the first insert decided
    await writer.close();
  });

  it('splits at maxBatch and writes what arrives during a write as the next batch', async () => {
    const { writer, batches, collection } = inserter(5, 10);
    const first = Array.from({ length: 25 }, (_, i) => writer.insert({ _id: `a${i}`, v: i }));
    await Promise.all(first);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(25);
    expect(Math.max(...batches)).toBeLessThanOrEqual(10);
    expect(await collection.countDocuments()).toBe(25);
    await writer.close();
  });

  it('on close writes at once whatever is waiting, however long its linger', async () => {
    const { writer, collection } = inserter(600_000);
    const pending = Array.from({ length: 5 }, (_, i) => writer.insert({ _id: `s${i}`, v: i }));
    await new Promise((r) => setTimeout(r, 50));
    expect(await collection.countDocuments()).toBe(0); // still gathering
    await writer.close();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 5 }, () => 'inserted'));
    expect(await collection.countDocuments()).toBe(5);
  });

  it('fails every waiting insert when the write itself fails (nothing is reported written that was not)', async () => {
    const writer = new BatchedInserter<Row>(
      async () => {
        throw new Error('connection reset');
      },
      { lingerMs: 1, maxBatch: 10 },
    );
    const results = await Promise.allSettled([writer.insert({ _id: 'x', v: 1 }), writer.insert({ _id: 'y', v: 2 })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('DeliveryRepository', () => {
  const keyId = 'ak_logtest00001';
  const row = (dep: string) => ({ communityId: 'T0LOG', deliveryId: deliveryIdFor(keyId, dep), keyId, dependentId: dep, dependentName: `name ${dep}` });

  it('creates records once, and the first end of a delivery wins; a second is refused', async () => {
    const repo = new DeliveryRepository(mongo.models);
    await repo.ensure([row('dep_a'), row('dep_b')]);
    await repo.ensure([row('dep_a'), row('dep_b'), row('dep_c')]); // again: existing ones left alone
    const a = row('dep_a');
    const at = new Date();
    expect(await repo.recordAttempt(a, 1, { at, status: 500, error: 'HTTP 500', durationMs: 3 })).toBe(true);
    expect(await repo.recordAttempt(a, 2, { at, status: 200, durationMs: 2 }, 'delivered')).toBe(true);
    // A duplicate run of the same retry (after a stall) finds it final.
    expect(await repo.recordAttempt(a, 2, { at, status: 200, durationMs: 2 }, 'delivered')).toBe(false);
    expect(await repo.finishWithoutAttempt(a, 'failed', 'gave up')).toBe(false);
    expect(await repo.finishWithoutAttempt(row('dep_b'), 'gone', 'the dependent was unlinked before delivery')).toBe(true);

    const rows = await repo.forKey(keyId);
    expect(rows.map((d) => [d.dependentId, d.state, d.attempts.map((x) => x.status), d.lastError ?? null])).toEqual([
      ['dep_a', 'delivered', [500, 200], null],
      ['dep_b', 'gone', [], 'the dependent was unlinked before delivery'],
      ['dep_c', 'pending', [], null],
    ]);
    expect(await repo.counts(keyId)).toEqual({ total: 3, pending: 1, delivered: 1, failed: 0, gone: 1 });
    expect(await repo.status(a.deliveryId)).toEqual({ exists: true, final: 'delivered' });
    expect(await repo.status(row('dep_c').deliveryId)).toEqual({ exists: true, final: undefined });
    const progress = await repo.progress(keyId);
    expect(progress.get(a.deliveryId)).toEqual({ attempts: 2, final: 'delivered' });
    expect(progress.has(row('dep_c').deliveryId)).toBe(false);
    expect(await repo.claimFanout(keyId)).toBe(true);
    expect(await repo.claimFanout(keyId)).toBe(false);
    await repo.flush();
  });

  it('reads deliveries written before the log (state and attempts on the record) as they were', async () => {
    const legacyKey = 'ak_legacy000001';
    await mongo.models.deliveries.collection.insertMany([
      {
        communityId: 'T0LOG',
        deliveryId: deliveryIdFor(legacyKey, 'dep_old'),
        keyId: legacyKey,
        dependentId: 'dep_old',
        dependentName: 'old',
        state: 'failed',
        attempts: [{ at: new Date(), status: 503, error: 'HTTP 503', durationMs: 4 }],
        lastStatus: 503,
        lastError: 'HTTP 503',
        createdAt: new Date('2026-01-01T00:00:00Z'),
      },
      {
        communityId: 'T0LOG',
        deliveryId: deliveryIdFor(legacyKey, 'dep_mid'),
        keyId: legacyKey,
        dependentId: 'dep_mid',
        dependentName: 'mid',
        state: 'pending',
        attempts: [{ at: new Date(), status: 500, error: 'HTTP 500', durationMs: 4 }],
        createdAt: new Date('2026-01-02T00:00:00Z'),
      },
    ]);
    const repo = new DeliveryRepository(mongo.models);
    // The pending one is finished through the log by a retry after the upgrade.
    expect(
      await repo.recordAttempt(
        { deliveryId: deliveryIdFor(legacyKey, 'dep_mid'), keyId: legacyKey },
        2,
        { at: new Date(), status: 200, durationMs: 1 },
        'delivered',
      ),
    ).toBe(true);
    const rows = await repo.forKey(legacyKey);
    expect(rows.map((d) => [d.dependentId, d.state, d.attempts.map((x) => x.status), d.lastError ?? null])).toEqual([
      ['dep_old', 'failed', [503], 'HTTP 503'],
      ['dep_mid', 'delivered', [500, 200], null],
    ]);
    expect(await repo.counts(legacyKey)).toMatchObject({ total: 2, pending: 0, delivered: 1, failed: 1 });
    expect(await repo.status(deliveryIdFor(legacyKey, 'dep_old'))).toEqual({ exists: true, final: 'failed' });
    await repo.flush();
  });
});

describe('DependentRepository.activeForSigning', () => {
  it('reads in pages growing from 50 to 200, the find and every getMore in one session (MongoDB refuses a getMore from another)', async () => {
    const watched = await openTestMongo('pagessession', { monitorCommands: 'true' });
    try {
      const repo = new DependentRepository(watched.models, new SecretBox([]));
      const keyId = 'ak_pagesx000001';
      await watched.models.dependents.insertMany(
        Array.from({ length: 520 }, (_, i) => ({
          communityId: 'T0LOG',
          dependentId: `dep_p${String(i).padStart(4, '0')}`,
          keyId,
          kind: 'playbook',
          name: `paged ${i}`,
          webhookUrl: `https://example.com/p/${i}`,
          signingSecret: `whsec_paged${i}`,
          status: 'active',
          createdBy: 'UADMIN1',
          createdAt: new Date(),
        })),
      );
      const commands: Array<{ name: string; batchSize: unknown; lsid: string }> = [];
      watched.conn.getClient().on('commandStarted', (e) => {
        if (e.commandName !== 'find' && e.commandName !== 'getMore' && e.commandName !== 'killCursors') return;
        const cmd = e.command as { batchSize?: unknown; lsid?: { id?: { toString(encoding: string): string } } };
        commands.push({ name: e.commandName, batchSize: cmd.batchSize, lsid: cmd.lsid?.id?.toString('hex') ?? 'none' });
      });
      // Between the first page and the rest, another session takes a server session and holds
      // it (the driver pools them): a getMore outside the find's session would get another.
      const reading = repo.activeForSigning([keyId])[Symbol.asyncIterator]();
      const pages: number[] = [];
      const first = await reading.next();
      pages.push(first.done ? 0 : first.value.length);
      const other = watched.conn.getClient().startSession();
      await watched.conn.db!.command({ ping: 1 }, { session: other });
      for (let next = await reading.next(); !next.done; next = await reading.next()) pages.push(next.value.length);
      await other.endSession();
      expect(pages).toEqual([50, 100, 200, 170]);
      expect(commands.map((c) => [c.name, c.batchSize])).toEqual([
        ['find', 50],
        ['getMore', 100],
        ['getMore', 200],
        ['getMore', 200],
      ]);
      expect(commands[0]!.lsid).not.toBe('none');
      expect(new Set(commands.map((c) => c.lsid)).size).toBe(1);

      // A reader that stops early closes the cursor, in the same session.
      commands.length = 0;
      for await (const page of repo.activeForSigning([keyId])) {
        expect(page).toHaveLength(50);
        break;
      }
      expect(commands.map((c) => c.name)).toEqual(['find', 'killCursors']);
      expect(new Set(commands.map((c) => c.lsid)).size).toBe(1);
    } finally {
      await watched.drop();
    }
  });
});

describe('DependentsReader', () => {
  it('gives each of several fan-outs asking together, or while a read is under way, exactly its own active dependents with their secrets', async () => {
    const box = new SecretBox([]);
    const repo = new DependentRepository(mongo.models, box);
    const keys = ['ak_readera00001', 'ak_readerb00001', 'ak_readerc00001'];
    for (const [k, keyId] of keys.entries()) {
      for (let i = 0; i < 150; i++) {
        await repo.insert({
          communityId: 'T0LOG',
          dependentId: `dep_r${k}x${String(i).padStart(3, '0')}`,
          keyId,
          kind: 'playbook',
          name: `reader ${k} ${i}`,
          webhookUrl: `https://example.com/${k}/${i}`,
          status: i % 10 === 0 ? 'gone' : 'active',
          signingSecret: `whsec_secret${k}x${i}`,
          createdBy: 'UADMIN1',
          createdAt: new Date(),
        });
      }
    }
    const reader = new DependentsReader(repo);
    const collect = async (keyId: string) => {
      const got = [];
      for await (const page of reader.activeForSigning(keyId)) got.push(...page);
      return got;
    };
    const first = [collect(keys[0]!), collect(keys[1]!)];
    await new Promise((r) => setTimeout(r, 5)); // the first read has started
    const [a, b, c] = await Promise.all([...first, collect(keys[2]!)]);
    for (const [k, got] of [a, b!, c!].entries()) {
      expect(got).toHaveLength(135);
      expect(new Set(got.map((d) => d.keyId))).toEqual(new Set([keys[k]]));
      expect(got.every((d) => d.status === 'active' && d.signingSecret === `whsec_secret${k}x${d.dependentId.slice(-3).replace(/^0+(?=\d)/, '')}`)).toBe(true);
    }
  });
});
