import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { KeyError } from '../../src/errors.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';

const T = 'T0DEPS';
const admin = { communityId: T, userId: 'UADMIN1' };
const viewer = { communityId: T, userId: 'UVIEWER' };
const stranger = { communityId: T, userId: 'USTRANGER' };
const otherAdmin = { communityId: 'T0OTHER', userId: 'UADMIN1' };
const logs = captureLogger();

let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let core: Core;
let keyId: string;

beforeAll(async () => {
  mongo = await openTestMongo('dependents');
  // Private networks NOT allowed here: the production rules.
  core = createCore(testConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }), logs.log, mongo);
  await core.members.set(admin, 'UVIEWER', 'viewer');
  ({
    key: { keyId },
  } = await core.keys.create(admin, { name: 'Connector key', description: 'Used by the CTI connectors', roles: ['ic_viewer'] }));
});
afterAll(async () => {
  await mongo.drop();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof KeyError ? e.code : String(e)),
  );
const link = (over: Record<string, string> = {}, actor = admin) =>
  core.dependents.link(actor, { keyId, kind: 'cti_connector', name: 'MISP feed', url: 'https://8.8.8.8/hooks/keywarden', ...over } as never);

describe('link', () => {
  it('returns a Standard Webhooks secret once; the stored record and the list never show it', async () => {
    const { dependent, secret } = await link();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    expect(() => new Webhook(secret)).not.toThrow();
    expect(dependent).toMatchObject({
      keyId,
      kind: 'cti_connector',
      name: 'MISP feed',
      webhookUrl: 'https://8.8.8.8/hooks/keywarden',
      status: 'active',
      createdBy: 'UADMIN1',
    });
    expect(JSON.stringify(dependent)).not.toContain(secret);
    const listed = await core.dependents.listForKey(viewer, keyId);
    expect(listed.map((d) => d.dependentId)).toContain(dependent.dependentId);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(6));
    const audit = await core.audit.forTarget(T, keyId);
    expect(audit.map((e) => e.action)).toContain('dependent.linked');
    expect(JSON.stringify(audit) + logs.text()).not.toContain(secret.slice(6));
    expect((await core.dependents.activeForKey(keyId)).map((d) => d.dependentId)).toContain(dependent.dependentId);
  });

  it('each link gets its own secret', async () => {
    const a = await link({ name: 'one' });
    const b = await link({ name: 'two' });
    expect(a.secret).not.toBe(b.secret);
    expect(a.dependent.dependentId).not.toBe(b.dependent.dependentId);
  });

  it.each([
    ['a viewer', viewer, 'forbidden'],
    ['an unmapped user', stranger, 'forbidden'],
    ['an admin of another community', otherAdmin, 'not_found'],
  ])('%s cannot link', async (_l, actor, code) => {
    expect(await codeOf(link({}, actor))).toBe(code);
  });

  it.each([
    ['plain http', { url: 'http://8.8.8.8/x' }, /must use https/],
    ['loopback', { url: 'https://127.0.0.1/x' }, /127\.0\.0\.1 is not a public address \(loopback\)/],
    ['private', { url: 'https://10.0.0.1/x' }, /private/],
    ['cloud metadata', { url: 'https://169.254.169.254/latest' }, /169\.254\.169\.254 is not a public address \(link-local\)/],
    ['IPv6 loopback', { url: 'https://[::1]/x' }, /::1 is not a public address \(loopback\)/],
    ['a name resolving to loopback', { url: 'https://localhost/x' }, /localhost resolves to/],
    ['an unknown kind', { kind: 'script' }, /playbook or cti_connector/],
    ['an empty name', { name: '   ' }, /1–64 characters/],
  ])('refuses %s with a clear message', async (_l, over, message) => {
    const err = (await link(over).catch((e: unknown) => e)) as KeyError;
    expect(err).toBeInstanceOf(KeyError);
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(message);
  });

  it('refuses an unknown key and a revoked key', async () => {
    expect(await codeOf(link({ keyId: 'ak_doesnotexist' }))).toBe('not_found');
    const { key } = await core.keys.create(admin, { name: 'Soon revoked', description: 'Revoked before linking', roles: ['ic_viewer'] });
    await core.keys.revoke(admin, key.keyId);
    expect(await codeOf(link({ keyId: key.keyId }))).toBe('already_revoked');
  });

  it('accepts a keyId as people type it (case, backticks)', async () => {
    const { dependent } = await link({ keyId: `\`${keyId.toUpperCase()}\`` });
    expect(dependent.keyId).toBe(keyId);
  });
});

describe('unlink', () => {
  it('an admin unlinks: no longer active, still listed, audited; twice is a no-op', async () => {
    const { dependent } = await link({ name: 'to unlink' });
    const out = await core.dependents.unlink(admin, dependent.dependentId);
    expect(out.status).toBe('unlinked');
    expect((await core.dependents.activeForKey(keyId)).map((d) => d.dependentId)).not.toContain(dependent.dependentId);
    expect((await core.dependents.listForKey(admin, keyId)).find((d) => d.dependentId === dependent.dependentId)?.status).toBe('unlinked');
    expect((await core.dependents.unlink(admin, dependent.dependentId)).status).toBe('unlinked');
    const audit = await core.audit.forTarget(T, keyId);
    expect(audit.filter((e) => e.action === 'dependent.unlinked')).toHaveLength(1);
  });

  it.each([
    ['a viewer', viewer, 'forbidden'],
    ['an unmapped user', stranger, 'forbidden'],
    ['an admin of another community', otherAdmin, 'not_found'],
  ])('%s cannot unlink', async (_l, actor, code) => {
    const { dependent } = await link({ name: 'kept' });
    expect(await codeOf(core.dependents.unlink(actor, dependent.dependentId))).toBe(code);
    expect((await core.dependents.activeForKey(keyId)).map((d) => d.dependentId)).toContain(dependent.dependentId);
  });
});

describe('listForKey', () => {
  it('needs a mapped user, and never crosses communities', async () => {
    expect(await codeOf(core.dependents.listForKey(stranger, keyId))).toBe('forbidden');
    expect(await core.dependents.listForKey(otherAdmin, keyId)).toEqual([]);
  });
});
