import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminScopes, adminTokenPrefix, type AdminScope } from '../../src/admin-tokens/admin-token-service.js';
import { createCore, type Core } from '../../src/core.js';
import { checksum } from '../../src/keys/token.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { startApp, type AppProcess } from '../support/app-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { freePort } from '../support/ports.js';
import { startReceivers, type Receivers } from '../support/receivers.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';

const ADMIN = 'UADMIN1';
const TEAM = 'T0TEST';
const OTHER = 'T0OTHER';
const RATE_LIMIT = 30;
/** Fixed windows of an hour: the test below starts far enough from a window's end. */
const RATE_WINDOW_MS = 3_600_000;

/**
 * The management API on two real processes sharing MongoDB and Redis: A runs everything
 * (API, Slack, workers), B only the API and Slack. Admin tokens are made through the domain,
 * as `/apikey admin-token create` does.
 */
let fake: FakeSlack;
let receivers: Receivers;
let a: AppProcess;
let b: AppProcess;
let mongo: Mongo;
let core: Core;
const secrets: string[] = [];

const tokenWith = async (name: string, scopes: AdminScope[], communityId = TEAM) => {
  const { token, secret } = await core.adminTokens.create({ communityId, userId: ADMIN }, { name, scopes });
  secrets.push(secret);
  return { ...token, secret };
};

type Answer = { status: number; headers: Headers; body: any };
async function call(p: AppProcess, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${p.apiUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}
const verifyOn = async (p: AppProcess, key: string) =>
  (await call(p, 'POST', '/v1/keys/verify', undefined, { key })).body as { valid: boolean; reason?: string };
const errorShape = { error: { code: expect.any(String), message: expect.any(String), requestId: expect.any(String) } };
const newKey = { name: 'Provisioned connector', description: 'Made by the provisioning script', roles: ['ic_viewer'] };

beforeAll(async () => {
  fake = await startFakeSlack();
  receivers = await startReceivers();
  const dbName = uniqueDbName('mgmtapi');
  const env = {
    SLACK_SIGNING_SECRET: 'management-api-signing-secret',
    SLACK_BOT_TOKEN: 'xoxb-management',
    SLACK_API_URL: fake.url,
    MONGODB_URI: mongoUriFor(dbName),
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: `test-${randomUUID()}`,
    ADMIN_SLACK_USER_IDS: ADMIN,
    NOTIFY_CHANNEL_ID: 'C0NOTIFY',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    MANAGEMENT_RATE_LIMIT: String(RATE_LIMIT),
    MANAGEMENT_RATE_WINDOW_MS: String(RATE_WINDOW_MS),
    LOG_LEVEL: 'debug',
  };
  [a, b] = await Promise.all([
    startApp('all', 'all', { ...env, PORT: String(await freePort()) }),
    startApp('bot', 'bot', { ...env, PORT: String(await freePort()) }),
  ]);
  mongo = await connectMongo(mongoUriFor(dbName));
  core = createCore(testConfig({ QUEUE_PREFIX: env.QUEUE_PREFIX }), captureLogger('silent').log, mongo);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await core?.close();
  await mongo?.conn.db?.dropDatabase().catch(() => undefined);
  await mongo?.close();
  await receivers?.close();
  await fake?.close();
});

describe('security: every route × every scope', () => {
  const routes: Array<{ method: string; path: (keyId: string) => string; scope: AdminScope; body?: unknown }> = [
    { method: 'GET', path: () => '/v1/keys', scope: 'keys:read' },
    { method: 'GET', path: (k) => `/v1/keys/${k}`, scope: 'keys:read' },
    { method: 'GET', path: (k) => `/v1/keys/${k}/dependents`, scope: 'keys:read' },
    { method: 'POST', path: () => '/v1/keys', scope: 'keys:write', body: newKey },
    { method: 'POST', path: (k) => `/v1/keys/${k}/roll`, scope: 'keys:write', body: { overlap: '1h' } },
    { method: 'POST', path: (k) => `/v1/keys/${k}/revoke`, scope: 'keys:revoke', body: {} },
    {
      method: 'POST',
      path: (k) => `/v1/keys/${k}/dependents`,
      scope: 'dependents:write',
      body: { kind: 'playbook', name: 'Contain', webhookUrl: 'http://127.0.0.1:9/hook' },
    },
    { method: 'DELETE', path: (k) => `/v1/keys/${k}/dependents/dep_none`, scope: 'dependents:write' },
    { method: 'GET', path: () => '/v1/audit', scope: 'audit:read' },
  ];

  describe.each(routes)('$method $scope', (route) => {
    it.each(adminScopes.filter((s) => s !== route.scope))('a token with only %s is refused 403 and nothing changes', async (scope) => {
      const t = await tokenWith(`only-${scope.replace(':', '-')}-${randomUUID().slice(0, 6)}`, [scope]);
      const { key } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, newKey);
      const before = await mongo.models.apiKeys.countDocuments();
      const res = await call(b, route.method, route.path(key.keyId), t.secret, route.body);
      expect(res.status).toBe(403);
      expect(res.body).toEqual(errorShape);
      expect(res.body.error.code).toBe('forbidden');
      expect(await mongo.models.apiKeys.countDocuments()).toBe(before);
      expect((await core.keyRepo.find(TEAM, key.keyId))!.status).toBe('active');
    });

    it(`a token with ${route.scope} passes the scope check`, async () => {
      const t = await tokenWith(`with-${route.scope.replace(':', '-')}-${randomUUID().slice(0, 6)}`, [route.scope]);
      const { key } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, newKey);
      const res = await call(a, route.method, route.path(key.keyId), t.secret, route.body);
      expect([200, 201, 404]).toContain(res.status);
      if (res.status === 404) expect(route.path(key.keyId)).toContain('dep_none');
    });
  });

  it('no token, a forged token (right shape and checksum, no such token), a key used as a token, and a revoked token: 401, one error shape', async () => {
    const revoked = await tokenWith('revoked-one', [...adminScopes]);
    expect((await call(a, 'GET', '/v1/keys', revoked.secret)).status).toBe(200);
    await core.adminTokens.revoke({ communityId: TEAM, userId: ADMIN }, revoked.tokenId);
    const body = `${adminTokenPrefix('kw')}_${'A'.repeat(30)}`;
    const forged = body + checksum(body);
    const { token: apiKey } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, newKey);
    for (const [label, headers] of [
      ['none', {}],
      ['forged', { authorization: `Bearer ${forged}` }],
      ['bad checksum', { authorization: `Bearer ${forged.slice(0, -1)}x` }],
      ['api key', { authorization: `Bearer ${apiKey}` }],
      ['revoked', { authorization: `Bearer ${revoked.secret}` }],
      ['basic', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ] as const) {
      for (const p of [a, b]) {
        const res = await call(p, 'GET', '/v1/keys', undefined, undefined, headers);
        expect(res.status, label).toBe(401);
        expect(res.body).toEqual(errorShape);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
  });

  it('a token whose creator is no longer an admin is refused 401 on both processes', async () => {
    const admin2 = 'UADMIN2MGMT';
    await core.members.set({ communityId: TEAM, userId: ADMIN }, admin2, 'admin');
    const { secret } = await core.adminTokens.create(
      { communityId: TEAM, userId: admin2 },
      { name: `made-by-admin2-${randomUUID().slice(0, 6)}`, scopes: [...adminScopes] },
    );
    secrets.push(secret);
    expect((await call(a, 'GET', '/v1/keys', secret)).status).toBe(200);
    await core.members.set({ communityId: TEAM, userId: ADMIN }, admin2, 'viewer');
    for (const p of [a, b]) {
      const res = await call(p, 'GET', '/v1/keys', secret);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(errorShape);
    }
  });

  it("another community's keys are 404 on every key route, and never listed", async () => {
    const t = await tokenWith('cross-community', [...adminScopes]);
    const { key } = await core.keys.create({ communityId: OTHER, userId: ADMIN }, { ...newKey, name: 'Other team key' });
    for (const [method, path, body] of [
      ['GET', `/v1/keys/${key.keyId}`],
      ['GET', `/v1/keys/${key.keyId}/dependents`],
      ['POST', `/v1/keys/${key.keyId}/revoke`, {}],
      ['POST', `/v1/keys/${key.keyId}/roll`, { overlap: 'none' }],
      ['POST', `/v1/keys/${key.keyId}/dependents`, { kind: 'playbook', name: 'x', webhookUrl: 'http://127.0.0.1:9/x' }],
    ] as const) {
      const res = await call(a, method, path, t.secret, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await core.keyRepo.find(OTHER, key.keyId))!.status).toBe('active');
    const listed = await call(a, 'GET', '/v1/keys?status=all&search=Other', t.secret);
    expect(listed.body.keys).toEqual([]);
    const audit = await call(a, 'GET', `/v1/audit?keyId=${key.keyId}`, t.secret);
    expect(audit.body.events).toEqual([]);
  });
});

describe('keys', () => {
  it('create: 201 with the secret once and Cache-Control: no-store; the secret verifies on both processes; audited as token:<name> with its creator', async () => {
    const t = await tokenWith('provisioner', ['keys:write', 'keys:read']);
    const res = await call(b, 'POST', '/v1/keys', t.secret, { ...newKey, expiresInDays: 30 });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.secret).toMatch(/^kw_[0-9A-Za-z]{36}$/);
    expect(res.body.key).toMatchObject({
      name: newKey.name,
      status: 'active',
      roles: ['ic_viewer'],
      createdBy: 'token:provisioner',
      revokedAt: null,
      reason: null,
    });
    expect(Object.keys(res.body.key).sort()).toEqual(
      [
        'createdAt',
        'createdBy',
        'description',
        'expiresAt',
        'hint',
        'keyId',
        'lastUsedAt',
        'name',
        'reason',
        'revokedAt',
        'revokedBy',
        'roles',
        'status',
      ].sort(),
    );
    secrets.push(res.body.secret);
    for (const p of [a, b]) expect(await verifyOn(p, res.body.secret)).toMatchObject({ valid: true, keyId: res.body.key.keyId });
    const shown = await call(a, 'GET', `/v1/keys/${res.body.key.keyId}`, t.secret);
    expect(shown.body).toEqual({ ...res.body.key, lastUsedAt: shown.body.lastUsedAt });
    const [event] = await core.audit.forTarget(TEAM, res.body.key.keyId);
    expect(event).toMatchObject({ action: 'key.created', actor: 'token:provisioner', onBehalfOf: ADMIN });
  });

  it('bad input is a 400 that creates nothing', async () => {
    const t = await tokenWith('bad-input', ['keys:write']);
    const before = await mongo.models.apiKeys.countDocuments();
    for (const body of [{ ...newKey, description: 'short' }, { ...newKey, roles: ['no_such_role'] }, { name: 'x' }, [1, 2]]) {
      const res = await call(a, 'POST', '/v1/keys', t.secret, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    const raw = await fetch(`${a.apiUrl}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secret}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(raw.status).toBe(400);
    expect(await mongo.models.apiKeys.countDocuments()).toBe(before);
  });

  it('Idempotency-Key: repeats, even concurrent and on both processes, make one key; the repeats answer 200 with secret null', async () => {
    const t = await tokenWith('idempotent', ['keys:write']);
    const idem = { 'idempotency-key': `vault-${randomUUID()}` };
    const body = { ...newKey, name: 'Idempotent connector' };
    const answers = await Promise.all([a, b, a, b, a].map((p) => call(p, 'POST', '/v1/keys', t.secret, body, idem)));
    const created = answers.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    secrets.push(created[0]!.body.secret);
    for (const r of answers.filter((x) => x.status !== 201)) {
      // A repeat racing the first may find its key not yet written: 409, retry.
      if (r.status === 409) continue;
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ key: created[0]!.body.key, secret: null });
    }
    const again = await call(b, 'POST', '/v1/keys', t.secret, body, idem);
    expect(again.status).toBe(200);
    expect(again.body.secret).toBeNull();
    expect(again.body.key.keyId).toBe(created[0]!.body.key.keyId);
    expect(await mongo.models.apiKeys.countDocuments({ name: 'Idempotent connector' })).toBe(1);
    const other = await call(a, 'POST', '/v1/keys', t.secret, { ...body, name: 'Another body' }, idem);
    expect(other.status).toBe(409);
    expect(await mongo.models.apiKeys.countDocuments({ name: 'Another body' })).toBe(0);
  });

  it('list pages like Slack (10 a page, nextCursor) with status and search', async () => {
    const t = await tokenWith('lister', ['keys:read']);
    for (let i = 0; i < 12; i++) await core.keys.create({ communityId: TEAM, userId: ADMIN }, { ...newKey, name: `Paged ${i}` });
    const first = await call(a, 'GET', '/v1/keys?search=Paged', t.secret);
    expect(first.body.keys).toHaveLength(10);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(b, 'GET', `/v1/keys?search=Paged&cursor=${encodeURIComponent(first.body.nextCursor)}`, t.secret);
    expect(second.body.keys).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
    expect(new Set([...first.body.keys, ...second.body.keys].map((k: any) => k.name)).size).toBe(12);
    expect((await call(a, 'GET', '/v1/keys?status=bogus', t.secret)).status).toBe(400);
    expect((await call(a, 'GET', '/v1/keys?cursor=nope', t.secret)).status).toBe(400);
    expect(JSON.stringify(first.body)).not.toMatch(/kw_[0-9A-Za-z]{36}|tokenHash/);
  });

  it('revoke through the API is the same revocation: verify says revoked on both processes, the dependent is told once, the Slack notice is posted; a second revoke says alreadyRevoked', async () => {
    const t = await tokenWith('soar-playbook', ['keys:revoke', 'keys:read', 'dependents:write', 'audit:read']);
    const { key, token } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, { ...newKey, name: 'Abused key' });
    secrets.push(token);
    const linked = await call(a, 'POST', `/v1/keys/${key.keyId}/dependents`, t.secret, {
      kind: 'playbook',
      name: 'Contain host',
      webhookUrl: receivers.url('/soar'),
    });
    expect(linked.status).toBe(201);
    expect(linked.body.secret).toMatch(/^whsec_/);
    secrets.push(linked.body.secret);
    for (const p of [a, b]) expect((await verifyOn(p, token)).valid).toBe(true); // cached as valid in both
    const res = await call(b, 'POST', `/v1/keys/${key.keyId}/revoke`, t.secret, { reason: 'compromised' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      alreadyRevoked: false,
      key: { keyId: key.keyId, status: 'revoked', revokedBy: 'token:soar-playbook', reason: 'compromised' },
    });
    for (const p of [a, b]) expect(await verifyOn(p, token)).toEqual({ valid: false, reason: 'revoked' });
    await receivers.waitUntil((r) => r.some((w) => w.path === '/soar'), 15_000, 'the webhook');
    const notice = await fake.waitFor('chat.postMessage', (c) => c.args.channel === 'C0NOTIFY' && JSON.stringify(c.args).includes(key.keyId), 15_000);
    expect(JSON.stringify(notice.args)).toContain('token:soar-playbook');
    const again = await call(a, 'POST', `/v1/keys/${key.keyId}/revoke`, t.secret);
    expect(again.body.alreadyRevoked).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(receivers.receivedOn('/soar')).toHaveLength(1);
    expect(JSON.parse(receivers.receivedOn('/soar')[0]!.body)).toMatchObject({
      type: 'api_key.revoked',
      data: { keyId: key.keyId, revokedBy: 'token:soar-playbook', reason: 'compromised' },
    });
    const audit = await call(a, 'GET', `/v1/audit?keyId=${key.keyId}`, t.secret);
    expect(audit.body.events.map((e: any) => [e.action, e.actor, e.onBehalfOf])).toEqual([
      ['key.revoked', 'token:soar-playbook', ADMIN],
      ['dependent.linked', 'token:soar-playbook', ADMIN],
      ['key.created', ADMIN, null],
    ]);
  });

  it('roll: a new secret once; the old one keeps working for the overlap', async () => {
    const t = await tokenWith('roller', ['keys:write']);
    const { key, token } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, { ...newKey, name: 'Rolled key' });
    const res = await call(a, 'POST', `/v1/keys/${key.keyId}/roll`, t.secret, { overlap: '1h' });
    expect(res.status).toBe(200);
    secrets.push(token, res.body.secret);
    expect(await verifyOn(b, res.body.secret)).toMatchObject({ valid: true, keyId: key.keyId });
    expect(await verifyOn(b, token)).toMatchObject({ valid: true });
    expect((await call(a, 'POST', `/v1/keys/${key.keyId}/roll`, t.secret, { overlap: '2h' })).status).toBe(400);
  });

  it('dependents: list and unlink; unlinking through another key is 404', async () => {
    const t = await tokenWith('dep-admin', ['keys:read', 'dependents:write']);
    const { key } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, { ...newKey, name: 'With dependents' });
    const { key: other } = await core.keys.create({ communityId: TEAM, userId: ADMIN }, { ...newKey, name: 'Another' });
    const linked = await call(a, 'POST', `/v1/keys/${key.keyId}/dependents`, t.secret, {
      kind: 'cti_connector',
      name: 'Feed',
      webhookUrl: receivers.url('/feed'),
    });
    secrets.push(linked.body.secret);
    const id = linked.body.dependent.dependentId;
    expect((await call(b, 'DELETE', `/v1/keys/${other.keyId}/dependents/${id}`, t.secret)).status).toBe(404);
    const listed = await call(b, 'GET', `/v1/keys/${key.keyId}/dependents`, t.secret);
    expect(listed.body.dependents).toEqual([expect.objectContaining({ dependentId: id, kind: 'cti_connector', status: 'active' })]);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    const gone = await call(b, 'DELETE', `/v1/keys/${key.keyId}/dependents/${id}`, t.secret);
    expect(gone.body.dependent.status).toBe('unlinked');
  });
});

describe('rate limit per admin token, across replicas', () => {
  it(`after ${RATE_LIMIT} requests split over both processes the next is 429 with Retry-After; another token is unaffected`, async () => {
    const left = RATE_WINDOW_MS - (Date.now() % RATE_WINDOW_MS);
    if (left < 30_000) await new Promise((r) => setTimeout(r, left + 100));
    const t = await tokenWith('busy-script', ['keys:read']);
    const quiet = await tokenWith('quiet-script', ['keys:read']);
    for (let i = 0; i < RATE_LIMIT; i++) expect((await call(i % 2 ? a : b, 'GET', '/v1/keys', t.secret)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200)); // the shared count is written after the answer
    for (const p of [a, b]) {
      const res = await call(p, 'GET', '/v1/keys', t.secret);
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('rate_limited');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect((await call(a, 'GET', '/v1/keys', quiet.secret)).status).toBe(200);
  }, 60_000);
});

describe('secrets', () => {
  it("no key secret, signing secret or admin token in either process's logs or in the audit trail", async () => {
    const logs = a.output() + b.output();
    const audit = JSON.stringify(await mongo.models.auditEvents.find({}).lean());
    expect(secrets.length).toBeGreaterThan(10);
    for (const s of secrets) {
      expect(logs).not.toContain(s);
      expect(audit).not.toContain(s);
    }
  });

  it('/openapi.json documents every management route from the same schemas', async () => {
    const doc = (await call(a, 'GET', '/openapi.json')).body;
    for (const path of [
      '/v1/keys',
      '/v1/keys/{keyId}',
      '/v1/keys/{keyId}/revoke',
      '/v1/keys/{keyId}/roll',
      '/v1/keys/{keyId}/dependents',
      '/v1/keys/{keyId}/dependents/{dependentId}',
      '/v1/audit',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.components.schemas.Key.properties.status.enum).toEqual(['active', 'expired', 'revoked']);
  });
});
