import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { mongoUriFor, redisUrl } from '../support/services.js';

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
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${entry} did not exit in ${timeoutMs} ms:\n${stderr}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
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
