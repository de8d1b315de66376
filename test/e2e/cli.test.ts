import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { startApp, type AppProcess } from '../support/app-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { freePort } from '../support/ports.js';
import { startReceivers, type Receivers } from '../support/receivers.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';

const ADMIN = 'UADMIN1';
const TEAM = 'T0TEST';
const CLI = resolve('dist/src/cli/main.js');
const KEY_RE = /^kw_[0-9A-Za-z]{36}$/;

let fake: FakeSlack;
let receivers: Receivers;
let app: AppProcess;
let mongo: Mongo;
let core: Core;
let serverEnv: Record<string, string>;
let adminToken: string;
const secrets: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
/** Runs the built CLI as `npx keywarden` would, with exactly `env` (plus PATH and HOME). */
const cli = (args: string[], env: Record<string, string>) =>
  new Promise<Run>((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: 'none', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
const http = (args: string[], extra: Record<string, string> = {}) => cli(args, { KEYWARDEN_URL: app.apiUrl, KEYWARDEN_ADMIN_TOKEN: adminToken, ...extra });
const glass = (args: string[]) => cli(['--break-glass', ...args], serverEnv);
const json = (r: Run) => JSON.parse(r.stdout);

beforeAll(async () => {
  fake = await startFakeSlack();
  receivers = await startReceivers();
  const dbName = uniqueDbName('cli');
  serverEnv = {
    SLACK_SIGNING_SECRET: 'cli-test-signing-secret',
    SLACK_BOT_TOKEN: 'xoxb-cli',
    SLACK_API_URL: fake.url,
    MONGODB_URI: mongoUriFor(dbName),
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: `test-${randomUUID()}`,
    ADMIN_SLACK_USER_IDS: ADMIN,
    NOTIFY_CHANNEL_ID: 'C0NOTIFY',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'debug',
  };
  app = await startApp('all', 'all', { ...serverEnv, PORT: String(await freePort()) }, 60_000, true);
  mongo = await connectMongo(serverEnv.MONGODB_URI!);
  core = createCore(testConfig({ QUEUE_PREFIX: serverEnv.QUEUE_PREFIX! }), captureLogger('silent').log, mongo);
  const { secret } = await core.adminTokens.create(
    { communityId: TEAM, userId: ADMIN },
    { name: 'ops-cli', scopes: ['keys:read', 'keys:write', 'keys:revoke', 'dependents:write', 'audit:read'] },
  );
  adminToken = secret;
  secrets.push(secret);
}, 120_000);

afterAll(async () => {
  await app?.kill();
  await core?.close();
  await mongo?.conn.db?.dropDatabase().catch(() => undefined);
  await mongo?.close();
  await receivers?.close();
  await fake?.close();
});

describe('against a running Keywarden (KEYWARDEN_URL + KEYWARDEN_ADMIN_TOKEN)', () => {
  let keyId = '';
  let secret = '';

  it('keys create: the key as a table, the secret once as the last line of stdout, the warning on stderr', async () => {
    const r = await http(['keys', 'create', '--name', 'Connector 1', '--description', 'Made by the CLI over HTTP', '--role', 'ic_viewer']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    secret = lines.at(-1)!;
    expect(secret).toMatch(KEY_RE);
    expect(r.stdout.split(secret)).toHaveLength(2);
    expect(r.stdout).toMatch(/^field\s+value$/m);
    expect(r.stdout).toMatch(/createdBy\s+token:ops-cli/);
    expect(r.stderr).toMatch(/shown once/);
    expect(r.stderr).not.toContain(secret);
    keyId = /keyId\s+(ak_[0-9a-z]+)/.exec(r.stdout)![1]!;
    secrets.push(secret);
  });

  it('--json prints the API shapes: keys list, keys show, verify', async () => {
    const list = json(await http(['--json', 'keys', 'list', '--search', 'Connector']));
    expect(list).toEqual({ keys: [expect.objectContaining({ keyId, name: 'Connector 1', status: 'active' })], nextCursor: null });
    const shown = json(await http(['--json', 'keys', 'show', keyId]));
    expect(shown).toEqual(list.keys[0]);
    const v = await http(['--json', 'verify', secret]);
    expect(v.code).toBe(0);
    expect(json(v)).toEqual({ valid: true, keyId, name: 'Connector 1', roles: ['ic_viewer'], communityId: TEAM });
  });

  it('dependents link, list, then keys revoke: verify exits 1 (revoked), the dependent is told once, audit shows token:ops-cli', async () => {
    const linked = await http(['--json', 'dependents', 'link', keyId, '--kind', 'playbook', '--name', 'Contain', '--url', receivers.url('/cli')]);
    expect(linked.code).toBe(0);
    secrets.push(json(linked).secret);
    expect((await http(['dependents', 'list', keyId])).stdout).toMatch(/playbook\s+Contain\s+active/);
    const revoked = await http(['keys', 'revoke', keyId, '--reason', 'compromised']);
    expect(revoked).toMatchObject({ code: 0, stdout: `Revoked: ${keyId} (Connector 1)\n` });
    const v = await http(['verify', secret]);
    expect(v).toMatchObject({ code: 1, stdout: 'not valid: revoked\n' });
    await receivers.waitUntil((r) => r.some((w) => w.path === '/cli'), 15_000, 'the webhook');
    expect((await http(['--json', 'keys', 'revoke', keyId])).stdout).toMatch(/"alreadyRevoked": true/);
    await new Promise((r) => setTimeout(r, 500));
    expect(receivers.receivedOn('/cli')).toHaveLength(1);
    const audit = await http(['audit', '--key', keyId]);
    expect(audit.stdout).toMatch(/token:ops-cli\s+UADMIN1\s+key\.revoked/);
  });

  it('exit codes: 1 refused or not found, 2 usage, 3 cannot reach the server', async () => {
    expect((await http(['keys', 'show', 'ak_doesnotexist'])).code).toBe(1);
    expect((await http(['keys', 'list'], { KEYWARDEN_ADMIN_TOKEN: 'kwadm_forged' })).code).toBe(1);
    expect((await http(['members', 'list'])).code).toBe(1);
    for (const args of [['keys', 'show'], ['keys', 'frob'], ['keys', 'create', '--name', 'x'], ['--bogus'], ['keys', 'roll', keyId, '--overlap', '2h']]) {
      const r = await http(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/Usage: keywarden/);
    }
    const closed = await freePort();
    const unreachable = await cli(['keys', 'list'], { KEYWARDEN_URL: `http://127.0.0.1:${closed}`, KEYWARDEN_ADMIN_TOKEN: adminToken });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/Cannot reach Keywarden/);
    expect((await cli(['keys', 'list'], {})).code).toBe(2);
  });
});

describe('--break-glass (straight to MongoDB/Redis from the server configuration)', () => {
  it('creates an admin token that the running API accepts; members and admin tokens list; audit actor cli:<os user>', async () => {
    const made = await glass(['--json', 'admin-tokens', 'create', 'glass-made', 'keys:read']);
    expect(made.code).toBe(0);
    expect(made.stderr).toMatch(/BREAK-GLASS/);
    const { adminToken: t, secret } = json(made);
    secrets.push(secret);
    expect(t).toMatchObject({ name: 'glass-made', scopes: ['keys:read'], createdBy: `cli:${userInfo().username}` });
    expect((await cli(['keys', 'list'], { KEYWARDEN_URL: app.apiUrl, KEYWARDEN_ADMIN_TOKEN: secret })).code).toBe(0);
    expect((await glass(['admin-tokens', 'list'])).stdout).toMatch(/glass-made\s+active\s+keys:read/);
    expect((await glass(['members', 'list'])).stdout).toMatch(/UADMIN1\s+admin/);
    expect((await glass(['admin-tokens', 'revoke', t.tokenId])).code).toBe(0);
    expect((await cli(['keys', 'list'], { KEYWARDEN_URL: app.apiUrl, KEYWARDEN_ADMIN_TOKEN: secret })).code).toBe(1);
  });

  it('create, verify, revoke: the revoke is the same revocation (the running app answers revoked), audited as cli:<os user>', async () => {
    const made = await glass(['--json', 'keys', 'create', '--name', 'Glass key', '--description', 'Made with break-glass', '--role', 'ic_viewer']);
    expect(made.code).toBe(0);
    const { key, secret } = json(made);
    expect(secret).toMatch(KEY_RE);
    secrets.push(secret);
    expect((await glass(['verify', secret])).code).toBe(0);
    expect((await http(['verify', secret])).code).toBe(0);
    expect((await glass(['keys', 'revoke', key.keyId])).code).toBe(0);
    expect((await http(['--json', 'verify', secret])).stdout).toMatch(/"reason": "revoked"/);
    const audit = json(await glass(['--json', 'audit', '--key', key.keyId]));
    expect(audit.events.map((e: any) => [e.action, e.actor])).toEqual([
      ['key.revoked', `cli:${userInfo().username}`],
      ['key.created', `cli:${userInfo().username}`],
    ]);
  });

  it('refuses without --break-glass; with several communities it needs --community', async () => {
    expect((await cli(['members', 'list'], serverEnv)).code).toBe(2);
    await core.keys
      .create({ communityId: 'T0OTHER', userId: 'UOTHER' }, { name: 'Other', description: 'Another community key', roles: ['ic_viewer'] })
      .catch(() => undefined);
    await mongo.models.communities.updateOne({ communityId: 'T0OTHER' }, { $set: { communityId: 'T0OTHER' } }, { upsert: true });
    const ambiguous = await glass(['keys', 'list']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/--community/);
    const other = await glass(['--community', 'T0OTHER', '--json', 'keys', 'list', '--status', 'all']);
    expect(other.code).toBe(0);
    expect(json(other).keys.every((k: any) => k.name === 'Other')).toBe(true);
  });
});

it("no secret in the app's logs or the audit trail", async () => {
  const logs = app.output();
  const audit = JSON.stringify(await mongo.models.auditEvents.find({}).lean());
  expect(secrets.length).toBeGreaterThanOrEqual(5);
  for (const s of secrets) {
    expect(logs).not.toContain(s);
    expect(audit).not.toContain(s);
  }
});
