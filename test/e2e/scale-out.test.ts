import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { startApp, type AppProcess } from '../support/app-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { freePort } from '../support/ports.js';
import { slow, startReceivers, type Receivers } from '../support/receivers.js';
import { mongoUriFor, redisUrl, uniqueDbName } from '../support/services.js';
import { blockAction, multiSelect, sendSigned, slashCommand, textInput, viewSubmission } from '../support/slack-requests.js';

const SECRET = 'scale-out-signing-secret';
const ADMIN = 'UADMIN1';
const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
const KEYS = 6;
const DEPENDENTS_PER_KEY = 3;

/**
 * Two bots and two workers as separate processes on one MongoDB and one Redis, driven only
 * through Slack requests and the verify API, as production would see them.
 */
describe('scale-out: two bots, two workers, one MongoDB, one Redis', () => {
  let fake: FakeSlack;
  let receivers: Receivers;
  let bots: AppProcess[] = [];
  let workers: AppProcess[] = [];
  const keys: Array<{ token: string; keyId: string; paths: string[] }> = [];

  beforeAll(async () => {
    fake = await startFakeSlack();
    receivers = await startReceivers();
    const env = {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-scale-out',
      SLACK_API_URL: fake.url,
      MONGODB_URI: mongoUriFor(uniqueDbName('scale')),
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: `test-${randomUUID()}`,
      ADMIN_SLACK_USER_IDS: ADMIN,
      NOTIFY_CHANNEL_ID: 'C0NOTIFY',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200,400,800',
      SWEEP_INTERVAL_MS: '500',
      SWEEP_GRACE_MS: '2000',
      JOB_LOCK_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info',
    };
    [bots, workers] = await Promise.all([
      Promise.all([1, 2].map(async (i) => startApp(`bot${i}`, 'bot', { ...env, PORT: String(await freePort()) }))),
      Promise.all([1, 2].map((i) => startApp(`worker${i}`, 'worker', { ...env, PORT: '0' }))),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...bots, ...workers].map((p) => p.kill()));
    await receivers?.close();
    await fake?.close();
  });

  const bot = (i: number) => bots[i % bots.length]!;
  const send = (i: number, body: string) => sendSigned(bot(i).url, body, { secret: SECRET });
  const command = async (i: number, text: string) => {
    const responseUrl = fake.responseUrl();
    const res = await send(i, slashCommand({ text, userId: ADMIN, responseUrl, triggerId: randomUUID() }));
    expect(res.status).toBe(200);
    return fake.waitFor('respond', (c) => c.url === responseUrl, 10_000);
  };
  const verifyOn = async (b: AppProcess, token: string) =>
    (
      await fetch(`${b.apiUrl}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: token }) })
    ).json() as Promise<Record<string, unknown>>;

  it("Slack's public PORT serves only /slack/events and /healthz; API_PORT serves the API", async () => {
    for (const b of bots) {
      for (const path of ['/v1/keys/verify', '/metrics', '/openapi.json', '/readyz']) {
        const res = await fetch(
          `${b.url}${path}`,
          path === '/v1/keys/verify' ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"kw_x"}' } : {},
        );
        expect(res.status, `${path} on PORT`).toBe(404);
      }
      expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
      for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
        expect((await fetch(`${b.apiUrl}${path}`)).status, `${path} on API_PORT`).toBe(200);
      }
      expect(await verifyOn(b, 'kw_x')).toEqual({ valid: false, reason: 'malformed' });
    }
  });

  it('creates keys through both bots; each token arrives once, by DM ephemeral', async () => {
    for (let i = 0; i < KEYS; i++) {
      const seen = new Set(fake.callsOf('chat.postEphemeral'));
      const res = await send(
        i,
        viewSubmission({
          userId: ADMIN,
          callbackId: callbackIds.createKey,
          viewId: `VSCALE${i}`,
          values: {
            [blockIds.name]: { [actionIds.nameInput]: textInput(`scale key ${i}`) },
            [blockIds.description]: { [actionIds.descriptionInput]: textInput(`created through bot ${(i % 2) + 1} for scale-out`) },
            [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['cti_connector']) },
          },
        }),
      );
      expect(res.status).toBe(200);
      const dm = await fake.waitFor('chat.postEphemeral', (c) => !seen.has(c), 10_000);
      const token = TOKEN_RE.exec(JSON.stringify(dm.args.blocks))?.[0];
      expect(token).toBeDefined();
      const v = await verifyOn(bot(i + 1), token!);
      expect(v).toMatchObject({ valid: true, name: `scale key ${i}`, roles: ['cti_connector'] });
      keys.push({ token: token!, keyId: v.keyId as string, paths: [] });
    }
    expect(new Set(keys.map((k) => k.token)).size).toBe(KEYS);
  });

  it('links dependents and lists keys through both bots', async () => {
    for (const [i, k] of keys.entries()) {
      for (let d = 0; d < DEPENDENTS_PER_KEY; d++) {
        const path = `/${k.keyId}/dep${d}`;
        receivers.on(path, slow(150));
        const seen = new Set(fake.callsOf('chat.postEphemeral'));
        const reply = await command(i + d, `link ${k.keyId} ${d % 2 ? 'cti' : 'playbook'} dep-${d} ${receivers.url(path)}`);
        expect(JSON.stringify(reply.args)).toMatch(/Linked/);
        // The signing secret goes once to the admin's DM, never into the channel reply.
        expect(JSON.stringify(reply.args)).not.toMatch(/whsec_/);
        const dm = await fake.waitFor('chat.postEphemeral', (c) => !seen.has(c), 10_000);
        expect(JSON.stringify(dm.args)).toMatch(/whsec_/);
        k.paths.push(path);
      }
    }
    for (const i of [0, 1]) {
      const listed = JSON.stringify((await command(i, 'list active scale key')).args);
      for (const k of keys.slice(0, 4)) expect(listed).toContain(k.keyId);
    }
  });

  it('revokes through both bots, with a worker killed mid-delivery: every dependent notified, none lost, no revocation twice', async () => {
    const revoked = keys.slice(0, 4);
    // Revoke two keys, kill a worker while their webhooks are in flight, then revoke two more.
    for (const [i, k] of revoked.slice(0, 2).entries()) {
      const responseUrl = fake.responseUrl();
      const res = await send(i, blockAction({ userId: ADMIN, actionId: actionIds.revokeKey, value: k.keyId, container: { type: 'message' }, responseUrl }));
      expect(res.status).toBe(200);
    }
    await receivers.waitUntil((r) => r.length >= 1, 15_000, 'a first webhook');
    await workers[0]!.kill();
    for (const [i, k] of revoked.slice(2).entries()) {
      const res = await send(
        i + 1,
        blockAction({ userId: ADMIN, actionId: actionIds.revokeKey, value: k.keyId, container: { type: 'message' }, responseUrl: fake.responseUrl() }),
      );
      expect(res.status).toBe(200);
    }
    // The same revoke replayed on the other bot changes nothing.
    await send(
      1,
      blockAction({ userId: ADMIN, actionId: actionIds.revokeKey, value: revoked[0]!.keyId, container: { type: 'message' }, responseUrl: fake.responseUrl() }),
    );

    const expected = revoked.flatMap((k) => k.paths);
    expect(expected).toHaveLength(revoked.length * DEPENDENTS_PER_KEY);
    await receivers.waitUntil((r) => expected.every((p) => r.some((x) => x.path === p)), 45_000, 'every dependent of every revoked key');
    for (const p of expected) {
      const got = receivers.receivedOn(p);
      // At least once; a retry after the kill carries the same webhook-id, so receivers dedupe.
      expect(new Set(got.map((g) => g.headers['webhook-id'])).size, p).toBe(1);
      expect(JSON.parse(got[0]!.body)).toMatchObject({ type: 'api_key.revoked' });
    }
    const ids = expected.map((p) => receivers.receivedOn(p)[0]!.headers['webhook-id']);
    expect(new Set(ids).size).toBe(expected.length);
    // Dependents of keys still active heard nothing.
    for (const k of keys.slice(4)) for (const p of k.paths) expect(receivers.receivedOn(p)).toEqual([]);
  }, 90_000);

  it('every verify agrees on both bots', async () => {
    for (const [i, k] of keys.entries()) {
      const [a, b] = await Promise.all(bots.map((x) => verifyOn(x, k.token)));
      expect(a).toEqual(b);
      expect(a!.valid).toBe(i >= 4);
      if (i < 4) expect(a).toMatchObject({ valid: false, reason: 'revoked' });
    }
  });

  it('lists the revoked keys on either bot', async () => {
    const listed = JSON.stringify((await command(1, 'list revoked')).args);
    for (const k of keys.slice(0, 4)) expect(listed).toContain(k.keyId);
    for (const k of keys.slice(4)) expect(listed).not.toContain(k.keyId);
  });

  it('no process logged a token', () => {
    const logs = [...bots, ...workers].map((p) => p.output()).join('\n');
    expect(logs).toContain('"msg":"started"');
    for (const k of keys) expect(logs).not.toContain(k.token);
  });
});
