import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PROCESS_START_MS } from './start-timeout.js';

/** A verify process of its own (test/support/verify-process.ts) on the shared MongoDB and Redis. */
export interface Replica {
  name: string;
  base: string;
  child: ChildProcess;
}

export async function startReplica(name: string, env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/verify-process.ts'], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${PROCESS_START_MS / 1000} s`));
    }, PROCESS_START_MS);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    lines.on('line', (line) => {
      const m = /^READY (\d+)$/.exec(line);
      if (!m) process.stderr.write(`[${name}] ${line}\n`);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { name, base: `http://127.0.0.1:${port}`, child };
}

export async function stopReplica(r: Replica | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null) return;
  const exited = once(r.child, 'exit');
  r.child.kill('SIGTERM');
  const kill = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}

export type Verdict = { valid: boolean; reason?: string; keyId?: string };

export async function verifyOn(r: Replica, key: string): Promise<Verdict> {
  const res = await fetch(`${r.base}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  if (res.status !== 200) throw new Error(`${r.name} answered ${res.status}`);
  return (await res.json()) as Verdict;
}
