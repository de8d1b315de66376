import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/core.js';
import { KeyError } from '../../src/errors.js';
import { hashToken } from '../../src/keys/token.js';
import { connectMongo } from '../../src/store/mongo.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger, mongoUriFor } from '../support/services.js';

// Keys found by `_id` (key_refs), and revocations of many keys at once, on MongoDB (FerretDB
// in CI), Redis and the workers.
const T = 'T0MASS';
const OTHER = 'T0MASSOTHER';
const admin = { communityId: T, userId: 'UADMIN1' };
// ADMIN_SLACK_USER_IDS makes UADMIN1 an admin of every workspace, this one too.
const otherAdmin = { communityId: OTHER, userId: 'UADMIN1' };
const logs = captureLogger('info');
let stack: JobsStack;

beforeAll(async () => {
  stack = await startJobsStack('massrevoke', logs.log, { SWEEP_INTERVAL_MS: '300', SWEEP_GRACE_MS: '1000', WEBHOOK_RETRY_SCHEDULE: '100,200' });
}, 60_000);

afterAll(() => stack?.close());

const createKey = (name: string, actor = admin) => stack.core.keys.create(actor, { name, description: 'Mass revocation tests', roles: ['ic_viewer'] });

async function linked(name: string, dependents: number, actor = admin) {
  const created = await createKey(name, actor);
  const paths = Array.from({ length: dependents }, (_, i) => `/${created.key.keyId}/${i}`);
  for (const [i, path] of paths.entries()) {
    await stack.core.dependents.link(actor, { keyId: created.key.keyId, kind: 'playbook', name: `${name} dependent ${i}`, url: stack.receivers.url(path) });
  }
  return { ...created, paths };
}

const refIds = async (keyId: string) => {
  const doc = await stack.mongo.models.apiKeys.findOne({ keyId }, { _id: 1, tokenHash: 1 }).lean();
  return (await stack.mongo.models.keyRefs.find({ doc: doc!._id }, { _id: 1 }).lean()).map((r) => r._id).sort();
};

/** What a version before key_refs left: the key's document alone. */
const dropRefs = async (keyId: string) => {
  const doc = await stack.mongo.models.apiKeys.findOne({ keyId }, { _id: 1 }).lean();
  await stack.mongo.models.keyRefs.deleteMany({ doc: doc!._id });
};

const revocationEvents = async (communityId: string, keyId: string) =>
  (await stack.core.audit.forTarget(communityId, keyId)).filter((e) => e.action === 'key.revoked');

describe('keys written before key_refs existed', () => {
  it('get their refs at start-up, and are then found, verified and revoked', async () => {
    const { key, token } = await createKey('Older version');
    const hash = hashToken(token, stack.config.KEY_PEPPER);
    expect(await refIds(key.keyId)).toEqual([`id:${key.keyId}`, `th:${hash}`]);
    await dropRefs(key.keyId);
    expect(await refIds(key.keyId)).toEqual([]);

    // A process starting on this database: the backfill runs before anything looks the key up.
    const restarted = await connectMongo(mongoUriFor(stack.mongo.dbName));
    try {
      expect(await refIds(key.keyId)).toEqual([`id:${key.keyId}`, `th:${hash}`]);
      // Running it again (another process starting) writes nothing twice.
      await restarted.close();
      const again = await connectMongo(mongoUriFor(stack.mongo.dbName));
      expect(await stack.mongo.models.keyRefs.countDocuments({ _id: { $in: [`id:${key.keyId}`, `th:${hash}`] } })).toBe(2);
      const core = createCore(stack.config, logs.log, again);
      try {
        expect((await core.keys.show(admin, key.keyId)).name).toBe('Older version');
        expect(await core.keys.verify(token)).toMatchObject({ valid: true, key: { keyId: key.keyId } });
        const { changed } = await core.keys.revoke(admin, key.keyId);
        expect(changed).toBe(true);
        expect(await core.keys.verify(token)).toMatchObject({ valid: false, reason: 'revoked' });
      } finally {
        await core.close();
        await again.close();
      }
    } finally {
      await restarted.close().catch(() => undefined);
    }
  });

  it('one written without refs while this process runs (an older replica, a writer that died) is found and given them', async () => {
    const { key, token } = await createKey('Written by an older replica');
    await dropRefs(key.keyId);
    // Processes that never saw the key (its refs are not in their memory): by secret, by keyId.
    const first = createCore(stack.config, logs.log, stack.mongo);
    const second = createCore(stack.config, logs.log, stack.mongo);
    try {
      expect(await first.keys.verify(token)).toMatchObject({ valid: true, key: { keyId: key.keyId } });
      expect(await refIds(key.keyId)).toHaveLength(2);
      await dropRefs(key.keyId);
      expect((await second.keys.showMany(admin, [key.keyId])).map((k) => k.keyId)).toEqual([key.keyId]);
      expect(await refIds(key.keyId)).toHaveLength(2);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('a rolled key keeps a ref per secret: the previous one still works, the current one too', async () => {
    const { key, token } = await createKey('Rolled');
    const rolled = await stack.core.keys.roll(admin, key.keyId, '1h');
    const fresh = createCore(stack.config, logs.log, stack.mongo);
    try {
      expect(await fresh.keys.verify(rolled.token)).toMatchObject({ valid: true });
      expect(await fresh.keys.verify(token)).toMatchObject({ valid: true, validUntil: expect.any(Date) });
      expect(await refIds(key.keyId)).toHaveLength(3);
    } finally {
      await fresh.close();
    }
  });
});

describe('a ref that leads to no document', () => {
  it('finds nothing: no key by that keyId or secret, nothing revoked', async () => {
    await stack.mongo.models.keyRefs.create({ _id: 'id:ak_ghost0000', doc: new Types.ObjectId(), c: T });
    await expect(stack.core.keys.show(admin, 'ak_ghost0000')).rejects.toMatchObject({ code: 'not_found' });
    await expect(stack.core.keys.revoke(admin, 'ak_ghost0000')).rejects.toMatchObject({ code: 'not_found' });
    expect(await revocationEvents(T, 'ak_ghost0000')).toEqual([]);

    // The secret's ref left behind by a key whose document is gone.
    const { key, token } = await createKey('Deleted document');
    await stack.mongo.models.apiKeys.deleteOne({ keyId: key.keyId });
    expect(await stack.core.keys.verify(token)).toMatchObject({ valid: false, reason: 'unknown' });
    const [result] = await stack.core.keys.revokeMany(admin, [key.keyId]);
    expect(result).toMatchObject({ keyId: key.keyId, ok: false, error: expect.any(KeyError) });
  });
});

describe('revokeMany', () => {
  it('decides each key as if alone: unknown, other-workspace and already-revoked keys are reported, the rest revoked and announced once each', async () => {
    const a = await linked('Mass A', 2);
    const b = await linked('Mass B', 3);
    const already = await linked('Mass already', 1);
    const foreign = await linked('Mass foreign', 1, otherAdmin);
    await stack.core.keys.revoke(admin, already.key.keyId, { reason: 'replaced' });
    await waitForNotificationDone(stack.core, already.key.keyId);

    const asked = [a.key.keyId, 'ak_doesnotexist', b.key.keyId.toUpperCase(), already.key.keyId, foreign.key.keyId, a.key.keyId];
    const results = await stack.core.keys.revokeMany(admin, asked, { reason: 'compromised' });

    // One result per distinct keyId, in the order asked.
    expect(results.map((r) => r.keyId)).toEqual([a.key.keyId, 'ak_doesnotexist', b.key.keyId, already.key.keyId, foreign.key.keyId]);
    const [ra, unknown, rb, ralready, rforeign] = results;
    expect(ra).toMatchObject({ ok: true, result: { changed: true, staleUpToMs: 0, key: { status: 'revoked', reason: 'compromised' } } });
    expect(rb).toMatchObject({ ok: true, result: { changed: true, staleUpToMs: 0 } });
    expect(ralready).toMatchObject({ ok: true, result: { changed: false, key: { status: 'revoked', reason: 'replaced' } } });
    for (const r of [unknown, rforeign]) {
      expect(r).toMatchObject({ ok: false });
      expect((r as { error: KeyError }).error).toBeInstanceOf(KeyError);
      expect((r as { error: KeyError }).error.code).toBe('not_found');
    }
    expect((unknown as { error: KeyError }).error.message).toBe('No API key `ak_doesnotexist` in this workspace.');

    // The other workspace's key is untouched; the revoked ones stop verifying at once.
    expect(await stack.core.keys.verify(foreign.token)).toMatchObject({ valid: true });
    expect(await stack.core.keys.verify(a.token)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await stack.core.keys.verify(b.token)).toMatchObject({ valid: false, reason: 'revoked' });

    // One audit event per revoked key, the already-revoked one keeps its own.
    expect(await revocationEvents(T, a.key.keyId)).toHaveLength(1);
    expect(await revocationEvents(T, b.key.keyId)).toHaveLength(1);
    expect((await revocationEvents(T, a.key.keyId))[0]).toMatchObject({ actor: 'UADMIN1', details: { name: 'Mass A', reason: 'compromised' } });
    expect(await revocationEvents(T, already.key.keyId)).toMatchObject([{ details: { reason: 'replaced' } }]);
    expect(await revocationEvents(OTHER, foreign.key.keyId)).toEqual([]);

    // Every dependent of each told once; each notification and announcement done.
    for (const k of [a, b]) {
      const done = await waitForNotificationDone(stack.core, k.key.keyId);
      expect(done.notification).toMatchObject({ total: k.paths.length, delivered: k.paths.length, failed: 0 });
      expect(done.announce?.state).toBe('done');
    }
    await new Promise((r) => setTimeout(r, 1_500)); // sweeps pass: still once each
    for (const k of [a, b]) {
      for (const path of k.paths) {
        const got = stack.receivers.receivedOn(path);
        expect(got).toHaveLength(1);
        expect(JSON.parse(got[0]!.body)).toMatchObject({ type: 'api_key.revoked', data: { keyId: k.key.keyId, reason: 'compromised' } });
      }
    }
    expect(stack.receivers.receivedOn(already.paths[0]!)).toHaveLength(1);
    expect(stack.receivers.receivedOn(foreign.paths[0]!)).toHaveLength(0);
  });

  it('refuses a viewer whole, before any key is touched', async () => {
    await stack.core.members.set(admin, 'UVIEWERMASS', 'viewer');
    const { key } = await createKey('Viewer cannot');
    await expect(stack.core.keys.revokeMany({ communityId: T, userId: 'UVIEWERMASS' }, [key.keyId])).rejects.toMatchObject({ code: 'forbidden' });
    expect((await stack.core.keyRepo.findByKeyId(key.keyId))?.status).toBe('active');
  });
});

describe('revokeLeakedMany (a GitHub alert of several tokens)', () => {
  it('decides each token as if alone and revokes the live keys together, a key reported twice once', async () => {
    const a = await linked('Leaked A', 1);
    const b = await linked('Leaked B', 1);
    const gone = await linked('Leaked already revoked', 1);
    await stack.core.keys.revoke(admin, gone.key.keyId);
    await waitForNotificationDone(stack.core, gone.key.keyId);
    // A's previous secret (still in its overlap) and its new one: two reports of one key.
    const rolled = await stack.core.keys.roll(admin, a.key.keyId, '1h');
    const leak = (url: string) => ({ source: 'github' as const, url });
    const outcomes = await stack.core.keys.revokeLeakedMany(
      [
        { token: a.token, leak: leak('https://github.com/o/r/blob/main/a1') },
        { token: 'kw_not_a_token', leak: leak('https://github.com/o/r/blob/main/noise') },
        { token: b.token, leak: leak('https://github.com/o/r/blob/main/b') },
        { token: rolled.token, leak: leak('https://github.com/o/r/blob/main/a2') },
        { token: gone.token, leak: leak('https://github.com/o/r/blob/main/gone') },
      ],
      'github-secret-scanning',
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['revoked', 'noise', 'revoked', 'revoked', 'inactive']);
    expect(outcomes[0]).toMatchObject({ changed: true, key: { keyId: a.key.keyId, reason: 'leaked', leak: { url: 'https://github.com/o/r/blob/main/a1' } } });
    expect(outcomes[3]).toMatchObject({ changed: true, key: { keyId: a.key.keyId } });
    expect(outcomes[2]).toMatchObject({ changed: true, key: { keyId: b.key.keyId, leak: { url: 'https://github.com/o/r/blob/main/b' } } });
    expect(outcomes[4]).toMatchObject({ kind: 'inactive', status: 'revoked' });
    for (const k of [a, b]) {
      expect(await revocationEvents(T, k.key.keyId)).toMatchObject([{ actor: 'github-secret-scanning', details: { reason: 'leaked' } }]);
      await waitForNotificationDone(stack.core, k.key.keyId);
    }
    expect(await stack.core.keys.verify(rolled.token)).toMatchObject({ valid: false, reason: 'revoked' });
    await new Promise((r) => setTimeout(r, 1_000));
    // A's dependent was also told of the roll (`api_key.rolled`): one revocation each.
    const revokedOn = (path: string) => stack.receivers.receivedOn(path).filter((w) => (JSON.parse(w.body) as { type: string }).type === 'api_key.revoked');
    expect(revokedOn(a.paths[0]!)).toHaveLength(1);
    expect(revokedOn(b.paths[0]!)).toHaveLength(1);
    expect(JSON.parse(revokedOn(a.paths[0]!)[0]!.body)).toMatchObject({
      data: { reason: 'leaked', leak: { source: 'github', url: 'https://github.com/o/r/blob/main/a1' } },
    });
    // Reported again: nothing changes.
    const again = await stack.core.keys.revokeLeakedMany([{ token: b.token, leak: leak('https://github.com/o/r/blob/main/b') }], 'github-secret-scanning');
    expect(again).toMatchObject([{ kind: 'inactive', status: 'revoked' }]);
  });
});

describe('concurrent revokes of one key', () => {
  it('two revokes at once: one revokes, the other is told it was already; one audit event, one webhook', async () => {
    const k = await linked('Raced twice', 1);
    const results = await Promise.all([
      stack.core.keys.revoke(admin, k.key.keyId, { reason: 'compromised' }),
      stack.core.keys.revoke({ communityId: T, userId: 'UADMIN1' }, k.key.keyId, { reason: 'compromised' }),
    ]);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    for (const r of results) expect(r.key.status).toBe('revoked');
    expect(await revocationEvents(T, k.key.keyId)).toHaveLength(1);
    await waitForNotificationDone(stack.core, k.key.keyId);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(stack.receivers.receivedOn(k.paths[0]!)).toHaveLength(1);
  });

  it('revokeMany racing a single revoke of one of its keys: each key revoked once, one audit event and one webhook each', async () => {
    const x = await linked('Raced in a batch', 1);
    const y = await linked('Batch only', 1);
    const [many, single] = await Promise.all([stack.core.keys.revokeMany(admin, [x.key.keyId, y.key.keyId]), stack.core.keys.revoke(admin, x.key.keyId)]);
    const xInBatch = many.find((r) => r.keyId === x.key.keyId)!;
    expect(xInBatch.ok).toBe(true);
    const changed = [xInBatch.ok && xInBatch.result.changed, single.changed];
    expect(changed.filter(Boolean)).toHaveLength(1);
    expect(many.find((r) => r.keyId === y.key.keyId)).toMatchObject({ ok: true, result: { changed: true } });
    for (const k of [x, y]) {
      expect(await revocationEvents(T, k.key.keyId)).toHaveLength(1);
      await waitForNotificationDone(stack.core, k.key.keyId);
    }
    await new Promise((r) => setTimeout(r, 1_500));
    expect(stack.receivers.receivedOn(x.paths[0]!)).toHaveLength(1);
    expect(stack.receivers.receivedOn(y.paths[0]!)).toHaveLength(1);
  });
});
