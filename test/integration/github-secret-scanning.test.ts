import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPublisher } from '../../jobs/index.js';
import { createCore, type Core } from '../../src/core.js';
import { createPublicServer, type HttpServer } from '../../src/http/server.js';
import { MAX_ALERT_TOKENS } from '../../src/leaks/github-alert.js';
import { GithubPublicKeys } from '../../src/leaks/github-keys.js';
import { generateToken } from '../../src/keys/token.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { postAlert, scanningKey, signAlert, signedBy, startFakeGithub, type FakeGithub } from '../support/fake-github.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger, mongoUriFor } from '../support/services.js';

const admin = { communityId: 'T0TEST', userId: 'UADMIN1' };
const NOTICE_CHANNEL = 'CNOTICE1';
const LEAK_URL = 'https://github.com/acme/app/blob/4f2a/deploy/.env?plain=1#L3';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('GitHub secret scanning: POST /v1/secret-scanning/github', () => {
  const logs = captureLogger('debug');
  const k1 = scanningKey();
  const k2 = scanningKey();
  const stranger = scanningKey();
  let gh: FakeGithub;
  let stack: JobsStack;
  /** The API side on a MongoDB connection of its own, so that its operations can be counted. */
  let apiMongo: Mongo;
  let api: Core;
  let publisher: ReturnType<typeof createRevocationPublisher>;
  let server: HttpServer;
  let base = '';
  let now = 0;
  const ops: string[] = [];

  let active = { keyId: '', token: '' };
  let revoked = { keyId: '', token: '' };
  const random = generateToken('kw');
  let alert = '';

  beforeAll(async () => {
    gh = await startFakeGithub([k1]);
    stack = await startJobsStack('ghscan', logs.log, {
      GITHUB_SECRET_SCANNING_KEYS_URL: gh.url,
      NOTIFY_CHANNEL_ID: NOTICE_CHANNEL,
      WEBHOOK_RETRY_SCHEDULE: '100',
    });
    apiMongo = await connectMongo(mongoUriFor(stack.mongo.conn.name));
    apiMongo.conn.set('debug', (collection: string, method: string) => void ops.push(`${collection}.${method}`));
    api = createCore(stack.config, logs.log, apiMongo);
    publisher = createRevocationPublisher(api);
    api.keys.onRevoked(publisher.onRevoked);
    const githubKeys = new GithubPublicKeys({ url: gh.url, log: logs.log, now: () => now });
    server = createPublicServer(api, { githubKeys });
    base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;

    const made = await stack.core.keys.create(admin, { name: 'Deploy <bot> & co', description: 'Deploys the SOAR playbooks to prod', roles: ['ic_viewer'] });
    active = { keyId: made.key.keyId, token: made.token };
    for (const path of ['/soar', '/misp']) {
      await stack.core.dependents.link(admin, { keyId: active.keyId, kind: 'playbook', name: `dep ${path}`, url: stack.receivers.url(path) });
    }
    const old = await stack.core.keys.create(admin, { name: 'Old one', description: 'Revoked by hand long ago', roles: ['ic_viewer'] });
    revoked = { keyId: old.key.keyId, token: old.token };
    await stack.core.keys.revoke(admin, old.key.keyId, { reason: 'no longer used' });
    await waitForNotificationDone(stack.core, old.key.keyId);
    alert = JSON.stringify([
      { token: active.token, type: 'keywarden_api_key', url: LEAK_URL, source: 'content' },
      { token: revoked.token, type: 'keywarden_api_key', url: LEAK_URL, source: 'content' },
      { token: random, type: 'keywarden_api_key', url: LEAK_URL, source: 'content' },
    ]);
  });

  afterAll(async () => {
    await server?.close();
    await publisher?.close();
    await api?.close();
    await apiMongo?.close();
    await stack?.close();
    await gh?.close();
  });

  it('one signed alert with three tokens: exactly one revocation, its dependents told it leaked and where, labels right', async () => {
    const started = Date.now();
    ops.length = 0;
    const res = await postAlert(base, alert, signedBy(k1, alert));
    expect(res.status).toBe(200);
    expect(ops).toContain('api_keys.findOne'); // the counter the 401 tests rely on counts
    expect(res.json).toEqual([
      { token_hash: sha256(active.token), token_type: 'keywarden_api_key', label: 'true_positive' },
      { token_hash: sha256(revoked.token), token_type: 'keywarden_api_key', label: 'true_positive' },
      { token_hash: sha256(random), token_type: 'keywarden_api_key', label: 'false_positive' },
    ]);
    // Revoked within the request, through the domain.
    const key = await stack.core.keyRepo.findByKeyId(active.keyId);
    expect(key).toMatchObject({ status: 'revoked', revokedBy: 'github-secret-scanning', reason: 'leaked', leak: { source: 'github', url: LEAK_URL } });
    expect(await stack.core.keys.verify(active.token)).toMatchObject({ valid: false, reason: 'revoked' });
    const before = await stack.core.keyRepo.findByKeyId(revoked.keyId);
    expect(before).toMatchObject({ revokedBy: 'UADMIN1', reason: 'no_longer_used' });
    expect(before?.leak).toBeUndefined();

    await stack.receivers.waitUntil((r) => r.length >= 2, 15_000, 'both dependents');
    const bodies = stack.receivers.received.map((r) => JSON.parse(r.body));
    expect(bodies).toHaveLength(2);
    for (const b of bodies) {
      expect(b.type).toBe('api_key.revoked');
      expect(b.data).toMatchObject({ keyId: active.keyId, revokedBy: 'github-secret-scanning', reason: 'leaked', leak: { source: 'github', url: LEAK_URL } });
    }
    logs.log.info({ ms: Date.now() - started }, 'alert → last dependent told');

    await waitForNotificationDone(stack.core, active.keyId);
    const notices = stack.slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(active.keyId));
    expect(notices.map((c) => c.args.channel).sort()).toEqual([NOTICE_CHANNEL, 'DUADMIN1'].sort());
    for (const n of notices) {
      const shown = JSON.stringify(n.args);
      expect(shown).toContain('🚨 Leaked: \\"Deploy &lt;bot&gt; &amp; co\\"');
      expect(shown).toContain('by GitHub secret scanning and revoked automatically at');
      expect(shown).toContain('2 dependents are being told.');
      expect(shown).toContain('<https://github.com/acme/app/blob/4f2a/deploy/.env?plain=1#L3|github.com/acme/app/blob/4f2a/deploy/.env>');
      expect(shown).not.toContain(active.token);
    }
  });

  it('the same alert again: the same labels, nothing new anywhere', async () => {
    const audit = await stack.mongo.models.auditEvents.countDocuments({});
    const posted = stack.slack.callsOf('chat.postMessage').length;
    const res = await postAlert(base, alert, signedBy(k1, alert));
    expect(res.status).toBe(200);
    expect(res.json.map((f: { label: string }) => f.label)).toEqual(['true_positive', 'true_positive', 'false_positive']);
    await new Promise((r) => setTimeout(r, 500));
    expect(stack.receivers.received).toHaveLength(2);
    expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(posted);
    expect(await stack.mongo.models.auditEvents.countDocuments({})).toBe(audit);
  });

  it.each([
    ['no signature', () => ({})],
    ['a forged signature (another body signed)', () => ({ 'github-public-key-identifier': k1.identifier, 'github-public-key-signature': signAlert(k1, '[]') })],
    [
      "another key's signature under GitHub's identifier",
      () => ({ 'github-public-key-identifier': k1.identifier, 'github-public-key-signature': signAlert(stranger, alert) }),
    ],
    ['a signature that is not DER', () => ({ 'github-public-key-identifier': k1.identifier, 'github-public-key-signature': 'bm90IGEgc2lnbmF0dXJl' })],
    ['an identifier GitHub never published', () => signedBy(stranger, alert)],
  ])('%s → 401 and not one database operation', async (_what, headers) => {
    ops.length = 0;
    const res = await postAlert(base, alert, headers());
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('unauthorized');
    expect(ops).toEqual([]);
  });

  it('a body over the bound → 413; more than the allowed tokens → 413; nothing looked up', async () => {
    ops.length = 0;
    const big = JSON.stringify([{ token: random, type: 't', url: 'x'.repeat(300_000) }]);
    expect((await postAlert(base, big, signedBy(k1, big))).status).toBe(413);
    const many = JSON.stringify(Array.from({ length: MAX_ALERT_TOKENS + 1 }, () => ({ token: random, type: 't', url: LEAK_URL })));
    const res = await postAlert(base, many, signedBy(k1, many));
    expect(res.status).toBe(413);
    expect(res.json.error.message).toContain(`At most ${MAX_ALERT_TOKENS} tokens`);
    expect(ops).toEqual([]);
  });

  it('GitHub rotates its key: the new identifier is fetched once, however many alerts arrive; made-up identifiers fetch at most once a minute', async () => {
    expect(gh.fetches()).toBe(1); // the first alert's fetch, kept since
    gh.published = [k2, k1];
    now += 61_000;
    const one = JSON.stringify([{ token: random, type: 'keywarden_api_key', url: LEAK_URL }]);
    const answers = await Promise.all(Array.from({ length: 5 }, () => postAlert(base, one, signedBy(k2, one))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(gh.fetches()).toBe(2);
    // A stranger's identifiers within the minute: refused without a fetch.
    for (let i = 0; i < 5; i++) expect((await postAlert(base, one, signedBy(scanningKey(), one))).status).toBe(401);
    expect(gh.fetches()).toBe(2);
    now += 61_000;
    expect((await postAlert(base, one, signedBy(scanningKey(), one))).status).toBe(401);
    expect(gh.fetches()).toBe(3);
  });

  it('no token appears in any log line', () => {
    const text = logs.text();
    expect(text).toContain('github secret-scanning alert handled');
    for (const t of [active.token, revoked.token, random]) expect(text).not.toContain(t);
  });
});
