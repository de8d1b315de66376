import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { startApp, type AppProcess } from '../support/app-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { freePort } from '../support/ports.js';
import { multiSelect, sendSigned, slashCommand, textInput, viewSubmission } from '../support/slack-requests.js';

const SECRET = 'fresh-start-signing-secret';
const ADMIN = 'UADMIN1';

/** Whether a process is still running (a zombie, exited but not yet reaped, is not). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

/** The pids of the servers the app logged it started (`childPid` on its MongoDB / Redis lines). */
function childPids(output: string): Record<'mongo' | 'redis', number> {
  const pidOf = (prefix: string) => {
    const line = output.split('\n').find((l) => l.includes(`"msg":"${prefix}`));
    return line ? (JSON.parse(line) as { childPid: number }).childPid : NaN;
  };
  return { mongo: pidOf('MongoDB: '), redis: pidOf('Redis: redis-server') };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `npm start` on a fresh machine: only the Slack variables set, no MONGODB_URI, no REDIS_URL
 * and nothing on the default Redis port. The compiled build (`node dist/src/main/all.js`, what
 * `npm start` runs) starts its own MongoDB (mongodb-memory-server or FerretDB) and a
 * redis-server, keeps their data under DATA_DIR across a restart, and leaves no process behind.
 */
describe('npm start with nothing set up', () => {
  let fake: FakeSlack;
  let dataDir: string;
  let env: Record<string, string>;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    fake = await startFakeSlack();
    dataDir = mkdtempSync(join(tmpdir(), 'kw-fresh-'));
    env = {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-fresh-start',
      SLACK_API_URL: fake.url,
      ADMIN_SLACK_USER_IDS: ADMIN,
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      API_PORT: String(await freePort()),
      // Nothing answers here: the app must start a redis-server of its own.
      LOCAL_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      // Where the tests' set-up found or built FerretDB, and how it reached mongodb-memory-server.
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k, v]) => v !== undefined && /^(XDG_CACHE_HOME|MONGOMS_\w+)$/.test(k)) as Array<[string, string]>,
      ),
    };
  });

  afterAll(async () => {
    // SIGTERM, not SIGKILL: the children it started go with it.
    await app?.stop();
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    app = await startApp('fresh', 'all', env, 60_000, true);
    return app;
  };

  /** 200 from /readyz, wherever this version serves it (API_PORT, or PORT). */
  const ready = async () => {
    for (const port of [env.API_PORT, env.PORT]) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (res?.status === 200) return true;
    }
    return false;
  };

  const send = (body: string) => sendSigned(app!.url, body, { secret: SECRET });

  const listText = async () => {
    const responseUrl = fake.responseUrl();
    const res = await send(slashCommand({ text: 'list all', userId: ADMIN, responseUrl }));
    expect(res.status).toBe(200);
    const reply = await fake.waitFor('respond', (c) => c.url === responseUrl, 10_000);
    return JSON.stringify(reply.args);
  };

  const stopAndCheckChildren = async () => {
    const pids = childPids(app!.output());
    expect(pids.mongo, app!.output().slice(-2000)).toBeGreaterThan(0);
    expect(pids.redis, app!.output().slice(-2000)).toBeGreaterThan(0);
    expect(alive(pids.mongo) && alive(pids.redis)).toBe(true);
    const { code } = await app!.stop();
    app = undefined;
    expect(code).toBe(0);
    expect({ mongo: alive(pids.mongo), redis: alive(pids.redis) }).toEqual({ mongo: false, redis: false });
  };

  it('is ready, keeps a key created through Slack across a restart, and leaves no process behind', async () => {
    await start();
    await until('/readyz 200', ready);
    // The log says which engine and where the data lives.
    expect(app!.output()).toMatch(new RegExp(`"msg":"MongoDB: (mongodb-memory-server|FerretDB)[^"]*, data in ${dataDir}/(mongodb|ferretdb)"`));
    expect(app!.output()).toContain(`"msg":"Redis: redis-server (child), data in ${dataDir}/redis"`);

    const submitted = await send(
      viewSubmission({
        userId: ADMIN,
        callbackId: callbackIds.createKey,
        values: {
          [blockIds.name]: { [actionIds.nameInput]: textInput('Fresh machine key') },
          [blockIds.description]: { [actionIds.descriptionInput]: textInput('Created on a fresh machine') },
          [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['ic_viewer']) },
        },
      }),
    );
    expect((submitted.json as { response_action?: string }).response_action).toBe('update');
    expect(await listText()).toContain('Fresh machine key');
    await stopAndCheckChildren();

    await start();
    await until('/readyz 200 after the restart', ready);
    expect(await listText()).toContain('Fresh machine key');
    await stopAndCheckChildren();
  }, 180_000);

  it('after a crash (SIGKILL, no clean-up), the next start stops the servers left running on DATA_DIR first', async () => {
    await start();
    await until('/readyz 200', ready);
    const orphans = childPids(app!.output());
    await app!.kill();
    app = undefined;
    expect({ mongo: alive(orphans.mongo), redis: alive(orphans.redis) }).toEqual({ mongo: true, redis: true });

    await start();
    expect({ mongo: alive(orphans.mongo), redis: alive(orphans.redis) }).toEqual({ mongo: false, redis: false });
    await until('/readyz 200 after the crash', ready);
    expect(await listText()).toContain('Fresh machine key');
    await stopAndCheckChildren();
  }, 180_000);
});
