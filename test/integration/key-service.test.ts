import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { DESCRIPTION_RULE } from '../../src/keys/key-service.js';
import { KeyError } from '../../src/errors.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';

const T = 'T0KEYS';
const admin = { communityId: T, userId: 'UADMIN1' };
const viewer = { communityId: T, userId: 'UVIEWER' };
const stranger = { communityId: T, userId: 'USTRANGER' };
const good = { name: 'SOAR playbook runner', description: 'Runs phishing triage playbooks', roles: ['ic_viewer'] };

let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let core: Core;
const logs = captureLogger();
const tokens: string[] = [];

beforeAll(async () => {
  mongo = await openTestMongo('keys');
  core = createCore(testConfig(), logs.log, mongo);
  await core.members.set(admin, 'UVIEWER', 'viewer');
});
afterAll(async () => {
  await mongo.drop();
});

async function create(actor = admin, over: Partial<typeof good> = {}) {
  const out = await core.keys.create(actor, { ...good, ...over });
  tokens.push(out.token);
  return out;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof KeyError ? e.code : String(e)),
  );

describe('create', () => {
  it('returns the token once and stores only its hash', async () => {
    const { key, token } = await create();
    expect(key.keyId).toMatch(/^ak_/);
    expect(key.hint).toBe(token.slice(-4));
    const raw = await mongo.conn.db!.collection('api_keys').findOne({ keyId: key.keyId });
    expect(raw!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(raw)).not.toContain(token);
    expect(JSON.stringify(raw)).not.toContain(token.slice(3, 33));
    expect((await core.keys.verify(token)).valid).toBe(true);
  });

  it.each([
    ['10 characters', 'x'.repeat(10), 'invalid_input'],
    ['100 characters', 'x'.repeat(100), 'invalid_input'],
    ['11 characters', 'x'.repeat(11), 'ok'],
    ['99 characters', 'x'.repeat(99), 'ok'],
    ['11 characters padded with spaces to 20', `    ${'y'.repeat(11)}     `, 'ok'],
    ['10 characters padded with spaces to 20', `     ${'y'.repeat(10)}     `, 'invalid_input'],
  ])('description of %s → %s', async (_l, description, expected) => {
    const result = core.keys.create(admin, { ...good, description }).then((r) => {
      tokens.push(r.token);
      return r;
    });
    expect(await codeOf(result)).toBe(expected);
  });

  it('states the description rule in the message, on the description field', async () => {
    const err = await core.keys.create(admin, { ...good, description: 'too short' }).catch((e: KeyError) => e);
    expect(err).toBeInstanceOf(KeyError);
    expect((err as KeyError).fields.description).toBe(DESCRIPTION_RULE);
    expect(DESCRIPTION_RULE).toMatch(/more than 10 and fewer than 100/);
  });

  it('rejects unknown roles and an empty role list, naming them', async () => {
    const unknown = await core.keys.create(admin, { ...good, roles: ['ic_viewer', 'god_mode'] }).catch((e: KeyError) => e);
    expect((unknown as KeyError).fields.roles).toMatch(/god_mode/);
    const none = await core.keys.create(admin, { ...good, roles: [] }).catch((e: KeyError) => e);
    expect((none as KeyError).fields.roles).toMatch(/at least one role/);
  });

  it('rejects a blank or over-long name', async () => {
    expect(await codeOf(core.keys.create(admin, { ...good, name: '   ' }))).toBe('invalid_input');
    expect(await codeOf(core.keys.create(admin, { ...good, name: 'n'.repeat(65) }))).toBe('invalid_input');
  });

  it('refuses viewers and unmapped users, creating nothing', async () => {
    const before = await mongo.models.apiKeys.countDocuments();
    expect(await codeOf(core.keys.create(viewer, good))).toBe('forbidden');
    expect(await codeOf(core.keys.create(stranger, good))).toBe('forbidden');
    expect(await mongo.models.apiKeys.countDocuments()).toBe(before);
  });

  it('writes an audit event', async () => {
    const { key } = await create();
    const events = await core.audit.forTarget(T, key.keyId);
    expect(events.map((e) => e.action)).toEqual(['key.created']);
    expect(events[0]!.actor).toBe('UADMIN1');
  });
});

describe('list and search', () => {
  const C = 'T0LIST';
  const listAdmin = { communityId: C, userId: 'UADMIN1' };
  beforeAll(async () => {
    for (const [name, description] of [
      ['alpha.*star', 'literal regex metacharacters here'],
      ['beta (paren', 'has an open parenthesis in the name'],
      ['gamma', 'Threat feed CONNECTOR for MISP'],
      ['delta', 'plain description of delta key'],
    ] as const) {
      await create(listAdmin, { name, description });
    }
  });

  const names = async (search: string, status: 'active' | 'revoked' | 'all' = 'active') =>
    (await core.keys.list(listAdmin, { search, status })).items.map((k) => k.name).sort();

  it('treats regex metacharacters literally', async () => {
    expect(await names('.*')).toEqual(['alpha.*star']);
    expect(await names('(')).toEqual(['beta (paren']);
    expect(await names('l.*s')).toEqual([]);
  });

  it('matches name, description or keyId, case-insensitively, every word', async () => {
    expect(await names('connector misp')).toEqual(['gamma']);
    expect(await names('DELTA')).toEqual(['delta']);
    const { items } = await core.keys.list(listAdmin, { search: 'gamma' });
    expect(await names(items[0]!.keyId.toUpperCase())).toEqual(['gamma']);
  });

  it('keeps communities apart', async () => {
    const other = { communityId: 'T0OTHER', userId: 'UADMIN1' };
    expect((await core.keys.list(other, { status: 'all' })).items).toEqual([]);
    const { items } = await core.keys.list(listAdmin, {});
    await expect(core.keys.show(other, items[0]!.keyId)).rejects.toMatchObject({ code: 'not_found' });
    await expect(core.keys.revoke(other, items[0]!.keyId)).rejects.toMatchObject({ code: 'not_found' });
    expect((await core.keys.show(listAdmin, items[0]!.keyId)).status).toBe('active');
  });

  it('filters by status', async () => {
    const { items } = await core.keys.list(listAdmin, { search: 'delta' });
    await core.keys.revoke(listAdmin, items[0]!.keyId);
    expect(await names('', 'revoked')).toEqual(['delta']);
    expect(await names('')).not.toContain('delta');
    expect(await names('', 'all')).toContain('delta');
  });
});

describe('paging', () => {
  const C = 'T0PAGE';
  const a = { communityId: C, userId: 'UADMIN1' };
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) await create(a, { name: `page key ${String(i).padStart(2, '0')}` });
  });

  it('walks every key exactly once, newest first, even with inserts in between', async () => {
    const seen: string[] = [];
    let page = await core.keys.list(a, { limit: 10 });
    seen.push(...page.items.map((k) => k.name));
    expect(page.prev).toBeUndefined();
    while (page.next) {
      await create(a, { name: `inserted while paging ${seen.length}` });
      page = await core.keys.list(a, { limit: 10, after: page.next });
      seen.push(...page.items.map((k) => k.name));
    }
    const original = seen.filter((n) => n.startsWith('page key'));
    expect(original).toEqual(Array.from({ length: 25 }, (_, i) => `page key ${String(24 - i).padStart(2, '0')}`));
    expect(seen.filter((n) => n.startsWith('inserted'))).toEqual([]);
  });

  it('goes back with Previous to the same rows', async () => {
    const p1 = await core.keys.list(a, { limit: 10, search: 'page key' });
    const p2 = await core.keys.list(a, { limit: 10, search: 'page key', after: p1.next });
    expect(p2.prev).toBeDefined();
    const back = await core.keys.list(a, { limit: 10, search: 'page key', before: p2.prev });
    expect(back.items.map((k) => k.keyId)).toEqual(p1.items.map((k) => k.keyId));
    expect(back.prev).toBeUndefined();
  });
});

describe('revoke', () => {
  let keyId: string;
  let token: string;
  beforeEach(async () => {
    ({
      key: { keyId },
      token,
    } = await create());
  });

  it('is irreversible and idempotent: twice → one revocation, one audit event', async () => {
    const first = await core.keys.revoke(admin, keyId);
    const second = await core.keys.revoke(admin, keyId);
    expect(first.changed).toBe(true);
    expect(second.changed).toBe(false);
    expect(second.key.status).toBe('revoked');
    expect(second.key.revokedAt).toEqual(first.key.revokedAt);
    const events = await core.audit.forTarget(T, keyId);
    expect(events.filter((e) => e.action === 'key.revoked')).toHaveLength(1);
    expect(await core.keys.verify(token)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('records the pending notification in the same write', async () => {
    const { key } = await core.keys.revoke(admin, keyId);
    expect(key.notification.state).toBe('pending');
    const raw = await mongo.models.apiKeys.findOne({ keyId }).lean();
    expect(raw!.status).toBe('revoked');
    expect(raw!.notification.state).toBe('pending');
  });

  it('50 concurrent revokes of one key: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => core.keys.revoke(admin, keyId)));
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const events = await core.audit.forTarget(T, keyId);
    expect(events.filter((e) => e.action === 'key.revoked')).toHaveLength(1);
  });

  it('finishes a revocation whose winner died between its two writes', async () => {
    await core.audit.recordOnce(`key.revoked:${T}:${keyId}`, { communityId: T, actor: 'UADMIN1', action: 'key.revoked', target: keyId });
    expect((await core.keys.show(admin, keyId)).status).toBe('active');
    const again = await core.keys.revoke(admin, keyId);
    expect(again.changed).toBe(false);
    expect(again.key.status).toBe('revoked');
    expect(again.key.notification.state).toBe('pending');
    expect(await core.keys.verify(token)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('is never undone by a usage write racing it (FerretDB rewrites whole documents)', async () => {
    const keyIds = [keyId];
    for (let i = 0; i < 19; i++) keyIds.push((await create()).key.keyId);
    await Promise.all(
      keyIds.flatMap((id) => [
        core.keyUsage.touchLastUsed(new Map([[id, new Date()]])),
        core.keys.revoke(admin, id),
        core.keyUsage.touchLastUsed(new Map([[id, new Date()]])),
      ]),
    );
    for (const id of keyIds) {
      const key = await core.keys.show(admin, id);
      expect(key.status, id).toBe('revoked');
      expect(key.lastUsedAt).toBeInstanceOf(Date);
    }
  });

  it('refuses viewers and unmapped users, changing nothing', async () => {
    expect(await codeOf(core.keys.revoke(viewer, keyId))).toBe('forbidden');
    expect(await codeOf(core.keys.revoke(stranger, keyId))).toBe('forbidden');
    expect((await core.keys.show(admin, keyId)).status).toBe('active');
  });

  it('says not_found for a key that does not exist', async () => {
    expect(await codeOf(core.keys.revoke(admin, 'ak_doesnotexist'))).toBe('not_found');
  });
});

describe('verify', () => {
  it('answers malformed, unknown, revoked and valid', async () => {
    const { key, token } = await create();
    expect(await core.keys.verify('nope')).toEqual({ valid: false, reason: 'malformed' });
    const other = (await create()).token;
    await mongo.models.apiKeys.deleteOne({ hint: other.slice(-4), keyId: { $ne: key.keyId } });
    expect((await core.keys.verify(other)).valid).toBe(false);
    const ok = await core.keys.verify(token);
    expect(ok).toMatchObject({ valid: true, key: { keyId: key.keyId, roles: ['ic_viewer'], communityId: T } });
  });
});

describe('secrets', () => {
  it('never appear in the logs or anywhere in the database', async () => {
    expect(tokens.length).toBeGreaterThan(20);
    const collections = await mongo.conn.db!.listCollections().toArray();
    let dump = '';
    for (const c of collections) dump += JSON.stringify(await mongo.conn.db!.collection(c.name).find().toArray());
    const logText = logs.text();
    expect(logText).toContain('api key created');
    for (const t of tokens) {
      expect(dump).not.toContain(t);
      expect(logText).not.toContain(t);
      expect(dump).not.toContain(t.slice(3, 20));
    }
  });
});
