import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { PROCESS_START_MS } from './start-timeout.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A real entry point (`src/main/all.ts`, `bot.ts` or `worker.ts`) running as its own process. */
export interface AppProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Base URL of its public server on PORT: /slack/events and /healthz (bots and all-in-one). */
  readonly url: string;
  /** Base URL of its internal API on API_PORT: verify, /readyz, /metrics (bots and all-in-one). */
  readonly apiUrl: string;
  /** Its stdout and stderr so far (pino JSON lines). */
  output(): string;
  /** SIGKILL, as abrupt as a crash; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code and how long it took to exit. */
  stop(): Promise<{ code: number | null; ms: number }>;
  /** Resolves with the exit code whenever it exits. */
  readonly exited: Promise<number | null>;
}

/**
 * Spawns an entry point with node + tsx (or, with `built`, the compiled `dist/src/main/<entry>.js`
 * as `npm start` runs it) and waits until it logged "started". The environment is exactly
 * `env` plus PATH and HOME, as a deployment would set it, and a free API_PORT when `env` has
 * none (so that processes side by side do not collide).
 */
export async function startApp(
  name: string,
  entry: 'all' | 'bot' | 'worker',
  given: Record<string, string>,
  timeoutMs = PROCESS_START_MS,
  built = false,
): Promise<AppProcess> {
  const env: Record<string, string> = { ...given, API_PORT: given.API_PORT ?? String(await freePort()) };
  const args = built ? [`dist/src/main/${entry}.js`] : ['--import', 'tsx', `src/main/${entry}.ts`];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((ok, fail) => {
    const deadline = Date.now() + timeoutMs;
    const tick = setInterval(() => {
      if (/"msg":"started"/.test(out)) {
        clearInterval(tick);
        ok();
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(tick);
        child.kill('SIGKILL');
        fail(new Error(`${name} (${entry}) did not start:\n${out.slice(-3000)}`));
      }
    }, 50);
  });
  return {
    name,
    child,
    url: `http://127.0.0.1:${env.PORT ?? '3000'}`,
    apiUrl: `http://127.0.0.1:${env.API_PORT}`,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      const t0 = Date.now();
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      return { code, ms: Date.now() - t0 };
    },
  };
}
