// The client side of bench/verify-instructions: keep-alive POSTs to a server running under
// callgrind, and `callgrind_control --dump` between the phases, so that each phase's
// instructions land in a dump of their own. Runs in the bench's process (not under valgrind).
import { execFile } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Sends `count` POSTs of `body`, `connections` at a time over keep-alive sockets; resolves once all are answered. */
export async function send(agent, { port, path, body }, count, connections) {
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  let next = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  const lane = async () => {
    while (next < count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  if (failed) throw new Error(`${failed} of ${count} requests were not answered 200`);
}

/** Asks callgrind in process `pid` to write its counters so far (and zero them); resolves when written. */
export async function dump(pid, label) {
  await run('callgrind_control', ['--dump=' + label, String(pid)], { timeout: 600_000 });
}

/**
 * The phases, each ended by a dump: `warmup` requests (start-up, JIT, sockets, the cache),
 * `counted` requests, then `idleSeconds` without any (what the process does per second on
 * its own, to subtract). Resolves with the counted phase's and the idle phase's durations.
 */
export async function phases(pid, target, { warmup, counted, connections, idleSeconds }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    await send(agent, target, warmup, connections);
    await dump(pid, 'warmup');
    const started = performance.now();
    await send(agent, target, counted, connections);
    await dump(pid, 'counted');
    const countedSeconds = (performance.now() - started) / 1000;
    const idleStarted = performance.now();
    await setTimeout(idleSeconds * 1000);
    await dump(pid, 'idle');
    return { countedSeconds, idleSeconds: (performance.now() - idleStarted) / 1000 };
  } finally {
    agent.destroy();
  }
}
