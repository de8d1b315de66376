import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { connect, createServer } from 'node:net';

/** A server process started for us (ferretdb, redis-server), stopped with us. */
export interface ServiceChild {
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
const temporary = new Set<string>();
let exitHookInstalled = false;

/** Removes `dir` when this process exits, unless {@link keepDir} is called first. */
export function removeAtExit(dir: string): void {
  installExitHook();
  temporary.add(dir);
}

/** Undoes {@link removeAtExit} (the owner removed `dir` itself). */
export function keepDir(dir: string): void {
  temporary.delete(dir);
}

/**
 * Last resort for paths that end in `process.exit` without stopping their parts (a failed
 * start, the shutdown timer, vitest on SIGTERM): SIGTERM every child still running, so it
 * shuts down cleanly on its own (`exit` listeners cannot wait, hence no SIGKILL here), and
 * remove the temporary folders.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGTERM');
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Spawns `command` with its output appended to `logFile`, in its own process group so that a
 * Ctrl-C in the terminal reaches only us: we stop the child last, after in-flight work that
 * still needs it. Resolves once `ready()` is true; rejects with the log's tail if the child
 * exits first or `timeoutMs` passes.
 */
export async function startChild(
  command: string,
  args: string[],
  opts: { logFile: string; ready: () => Promise<boolean>; timeoutMs: number; env?: NodeJS.ProcessEnv; pidFile?: string },
): Promise<ServiceChild> {
  if (opts.pidFile) await stopStale(opts.pidFile, command);
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: true, env: opts.env ?? process.env });
  } finally {
    closeSync(fd);
  }
  installExitHook();
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  // No handle of ours keeps the event loop alive: shutdown is explicit.
  child.unref();
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    running.delete(child);
    spawnError = e;
  });
  const tail = () => {
    try {
      return readFileSync(opts.logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      return '';
    }
  };

  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    await new Promise((r) => setImmediate(r));
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}): ${tail()}`);
    if (await opts.ready()) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not answer within ${opts.timeoutMs} ms: ${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // The child's pid, then ours: a later start stops the child only when we are gone.
  if (opts.pidFile) writeFileSync(opts.pidFile, `${child.pid} ${process.pid}\n`);
  return {
    pid: child.pid!,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      if (opts.pidFile) rmSync(opts.pidFile, { force: true });
    },
  };
}

/**
 * A child left running on the same data by a parent that was killed outright (SIGKILL, OOM):
 * two servers on one folder would corrupt it, so the old one is stopped first. Only where
 * /proc tells that the pid is still that program (a reused pid is left alone). When the parent
 * that started it is still running (an `npm start` in another terminal while the CLI is run
 * with nothing configured), its server is in use: refuse rather than pull it from under it.
 */
async function stopStale(pidFile: string, command: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const [pid, owner] = readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number);
  const isIt = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.includes(basename(command));
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || pid! <= 0 || !isIt()) return;
  if (owner !== undefined && Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
    throw new Error(
      `${basename(command)} (pid ${pid}) on ${dirname(pidFile)} belongs to a Keywarden that is still running (pid ${owner}): ` +
        'stop it first, or give this process the same MONGODB_URI and REDIS_URL as that one (its log names them).',
    );
  }
  process.kill(pid!, 'SIGTERM');
  for (let i = 0; i < 100 && isIt(); i++) await new Promise((r) => setTimeout(r, 100));
  if (isIt()) process.kill(pid!, 'SIGKILL');
}

/** Running, and not a zombie that nobody has reaped yet (where /proc says so). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** A loopback TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on host:port within `timeoutMs`. */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.setTimeout(timeoutMs);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}
