import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/dependents/secret-box.js';
import { mongoUriFor, openTestMongo, redisUrl } from '../support/services.js';

/** Runs an entry point with exactly this environment (plus PATH/HOME); resolves on exit. */
function runEntry(entry: string, env: Record<string, string>, timeoutMs = 30_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: 'none', ...env },
      cwd: process.cwd(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not exit in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const good = () => ({
  SLACK_SIGNING_SECRET: 'startup-signing-secret',
  SLACK_BOT_TOKEN: 'xoxb-startup',
  MONGODB_URI: mongoUriFor('kw_startup'),
  REDIS_URL: redisUrl(),
});

describe.each(['src/main/all.ts', 'src/main/bot.ts', 'src/main/worker.ts'])('%s refuses to start', (entry) => {
  it('without SLACK_SIGNING_SECRET: exit 1, one line naming it, no stack trace', async () => {
    const { SLACK_SIGNING_SECRET: _, ...env } = good();
    const r = await runEntry(entry, { ...env, PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^keywarden: SLACK_SIGNING_SECRET is required/)]);
    expect(r.stderr).not.toMatch(/\s+at\s/);
  });
});

describe('a bad MONGODB_URI', () => {
  it('that is not a MongoDB URI: exit 1, one line', async () => {
    const r = await runEntry('src/main/all.ts', { ...good(), MONGODB_URI: 'postgres://127.0.0.1/x', PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^keywarden: MONGODB_URI must be a mongodb:\/\//)]);
  });

  it('where nothing answers: exit 1, one line, no stack trace', async () => {
    const port = await freePort();
    const r = await runEntry('src/main/all.ts', { ...good(), MONGODB_URI: `mongodb://127.0.0.1:${port}/x`, PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^keywarden: MONGODB_URI: cannot connect to MongoDB/)]);
    expect(r.stderr).not.toMatch(/\s+at\s/);
  });
});

describe('webhook signing secrets encrypted in the database', () => {
  let mongo: Awaited<ReturnType<typeof openTestMongo>>;
  beforeAll(async () => {
    mongo = await openTestMongo('startupsecrets');
    const sealed = new SecretBox([{ id: 'k1', key: randomBytes(32) }]).seal(`whsec_${randomBytes(24).toString('base64')}`, 'dependent:dep_sealed');
    await mongo.conn.db!.collection('dependents').insertOne({
      communityId: 'T1',
      dependentId: 'dep_sealed',
      keyId: 'ak_x',
      kind: 'playbook',
      name: 'sealed',
      webhookUrl: 'https://hooks.example.com/x',
      status: 'active',
      signingSecret: sealed,
      createdBy: 'U1',
      createdAt: new Date(),
    });
  });
  afterAll(() => mongo?.drop());

  it.each(['src/main/bot.ts', 'src/main/worker.ts'])('%s without SECRETS_KEY: exit 1, one line saying which key is missing', async (entry) => {
    const r = await runEntry(entry, { ...good(), MONGODB_URI: mongoUriFor(mongo.dbName), PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^keywarden: SECRETS_KEY is unset, but 1 webhook signing secret is encrypted \(key id k1\)/),
    ]);
    expect(r.stderr).not.toMatch(/\s+at\s/);
  });
});
