// bench/verify-instructions: instructions per cached verify hit in the server's main thread,
// counted by valgrind's callgrind on the built code (dist/), beside a bare node:http server
// counted the same way in the same run. Instruction counts barely move with the load of a
// shared machine, where req/s (bench/verify) does.
//
//   npm run build && npm run bench -- verify-instructions
//
// Each server (bench/verify-instructions/server.js) runs alone under
// `valgrind --tool=callgrind --separate-threads=yes`; the client (client.js, in this process)
// sends INSTR_WARMUP hits (default 20,000: after 1,000 or 5,000, much of node's HTTP code
// and of the routes still runs unoptimised, or is optimised during the count, which moved
// totals by several thousand instructions from run to run) over INSTR_CONNECTIONS
// keep-alive connections (default 10), dumps, sends INSTR_REQUESTS counted hits (default
// 5,000), dumps, waits INSTR_IDLE_SECONDS (default 20) and dumps again. A request's cost is
// the counted dump's main-thread instructions, less the idle dump's rate times the counted
// phase's duration, divided by the requests the server parsed (calls of node's
// Parser::Execute). About 5 minutes per server. (A forced full collection before the count
// was tried and dropped: it threw optimised code away.)
//
// INSTR_BUILDS=label=path,… adds other builds (a dist/ directory each), e.g. one of an older
// commit built in a `git worktree` of its own, measured between the same bare rounds.
// INSTR_ROUNDS (default 1) repeats the whole sequence; each server is measured once a round.
// INSTR_NODE_FLAGS (space-separated) are passed to node before the server script, e.g.
// `--single-threaded`: V8 then compiles and collects garbage on the main thread, so all of a
// hit's work is counted there. It does not make the count independent of load: on a quiet
// machine the same build counted 87.1 k and 87.2 k per hit, beside a CI run 94.0 k.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchEnv } from './services.js';

interface Target {
  port: number;
  path: string;
  body: string;
}
interface Durations {
  countedSeconds: number;
  idleSeconds: number;
}
interface Client {
  phases(pid: number, target: Target, opts: { warmup: number; counted: number; connections: number; idleSeconds: number }): Promise<Durations>;
}

/** The repository: the nearest directory above this file with a package.json (this file may run from dist/bench/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('bench/verify-instructions: no package.json above this file');
    dir = up;
  }
  return dir;
}
const repo = repoRoot();
const SERVER = join(repo, 'bench', 'verify-instructions', 'server.js');

/** One server to measure: the bare baseline, or the verify API of a build. */
interface Subject {
  label: string;
  /** A dist/ directory; undefined for the bare node:http server. */
  dist?: string;
}

interface Measured {
  label: string;
  /** Main-thread instructions of the counted phase. */
  counted: number;
  /** Requests the server parsed in it. */
  parsed: number;
  /** Main-thread instructions per second with no requests (subtracted). */
  idlePerSecond: number;
  countedSeconds: number;
  /** Instructions per request, idle rate subtracted. */
  perRequest: number;
  /** The same without subtracting anything. */
  rawPerRequest: number;
}

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number`);
  return v;
};

/** INSTR_BUILDS: `label=path` pairs, comma-separated. */
function otherBuilds(): Subject[] {
  const spec = process.env.INSTR_BUILDS?.trim();
  if (!spec) return [];
  return spec.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`INSTR_BUILDS: expected label=path, got ${pair}`);
    return { label: pair.slice(0, eq).trim(), dist: resolve(pair.slice(eq + 1).trim()) };
  });
}

function requireBuild(dist: string): void {
  if (!existsSync(join(dist, 'src', 'http', 'server.js'))) throw new Error(`${dist} holds no build of the verify API: run \`npm run build\` first`);
}

/** The totals of one callgrind output file: its instructions, and calls of node's HTTP parser on socket data. */
export function readCallgrind(text: string): { instructions: number; parsed: number } {
  let instructions = 0;
  let parsed = 0;
  let callsParser = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('summary:') || line.startsWith('totals:')) instructions = Math.max(instructions, Number(line.split(/\s+/)[1]));
    else if (line.startsWith('cfn=')) callsParser = line.includes('Parser::Execute(char const*');
    else if (callsParser && line.startsWith('calls=')) {
      parsed += Number(line.slice(6).split(' ')[0]);
      callsParser = false;
    }
  }
  return { instructions, parsed };
}

const waitExit = (child: ChildProcess) => new Promise<void>((done) => (child.exitCode !== null ? done() : child.once('exit', () => done())));

/** Runs one server under callgrind through the phases, and reads its dumps. */
async function measureOne(
  client: Client,
  subject: Subject,
  opts: { warmup: number; counted: number; connections: number; idleSeconds: number },
): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-instr-'));
  const args = [
    '--tool=callgrind',
    '--separate-threads=yes',
    '--dump-instr=no',
    '--compress-strings=no',
    '--compress-pos=no',
    `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`,
    process.execPath,
    ...(process.env.INSTR_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    SERVER,
    ...(subject.dist ? ['verify', subject.dist] : ['bare']),
  ];
  const child = spawn('valgrind', args, { env: { ...process.env, ...benchEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const lines = createInterface({ input: child.stdout });
    const target = await new Promise<Target>((found, failed) => {
      lines.on('line', (line) => {
        if (line.startsWith('{"port"')) found(JSON.parse(line) as Target);
      });
      child.once('exit', (code) => failed(new Error(`${subject.label}: server exited (${code}) before listening\n${stderr}`)));
    });
    const durations = await client.phases(child.pid!, target, opts);
    const dumps = readdirSync(dir);
    // callgrind.out.<pid>.<dump>-<thread>; thread 01 is the main thread, dumps count from 1.
    const mainThread = (n: number) => {
      const name = dumps.find((f) => f.endsWith(`.${n}-01`));
      if (!name) throw new Error(`${subject.label}: no dump ${n} of the main thread in ${dir} (${dumps.join(' ')})`);
      return readCallgrind(readFileSync(join(dir, name), 'utf8'));
    };
    const counted = mainThread(2);
    const idle = mainThread(3);
    const idlePerSecond = idle.instructions / durations.idleSeconds;
    const perRequest = (counted.instructions - idlePerSecond * durations.countedSeconds) / counted.parsed;
    return {
      label: subject.label,
      counted: counted.instructions,
      parsed: counted.parsed,
      idlePerSecond,
      countedSeconds: durations.countedSeconds,
      perRequest,
      rawPerRequest: counted.instructions / counted.parsed,
    };
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await waitExit(child);
    clearTimeout(killer);
    if (process.env.INSTR_KEEP_DUMPS) console.log(`  (dumps of ${subject.label} kept in ${dir})`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const k = (n: number) => `${(n / 1000).toFixed(1)} k`;

export async function main(): Promise<void> {
  // Plain JavaScript beside the server script (not compiled with the benches).
  const client = (await import(pathToFileURL(join(repo, 'bench', 'verify-instructions', 'client.js')).href)) as Client;
  const opts = {
    warmup: int('INSTR_WARMUP', 20_000),
    counted: int('INSTR_REQUESTS', 5_000),
    connections: int('INSTR_CONNECTIONS', 10),
    idleSeconds: int('INSTR_IDLE_SECONDS', 20),
  };
  const rounds = Math.max(1, int('INSTR_ROUNDS', 1));
  const thisBuild: Subject = { label: 'verify, dist/', dist: join(repo, 'dist') };
  const subjects: Subject[] = [{ label: 'bare node:http' }, thisBuild, ...otherBuilds().map((b) => ({ ...b, label: `verify, ${b.label}` }))];
  for (const s of subjects) if (s.dist) requireBuild(s.dist);

  console.log(
    `callgrind, main thread; ${opts.warmup} warm-up and ${opts.counted} counted hits over ${opts.connections} keep-alive connections, ` +
      `${opts.idleSeconds} s idle subtracted; ${rounds} round(s); ${process.version}; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(
    `${'server'.padEnd(34)}${'parsed'.padStart(8)}${'raw/req'.padStart(10)}${'idle/s'.padStart(10)}${'counted'.padStart(9)}${'instr/req'.padStart(11)}${'vs bare'.padStart(9)}`,
  );
  const results: Measured[] = [];
  for (let round = 1; round <= rounds; round++) {
    const bare = await measureOne(client, subjects[0]!, opts);
    results.push(bare);
    const line = (m: Measured) =>
      console.log(
        `${`${m.label} #${round}`.padEnd(34)}${String(m.parsed).padStart(8)}${k(m.rawPerRequest).padStart(10)}${k(m.idlePerSecond).padStart(10)}` +
          `${`${m.countedSeconds.toFixed(1)} s`.padStart(9)}${k(m.perRequest).padStart(11)}${`${((m.perRequest / bare.perRequest) * 100).toFixed(0)} %`.padStart(9)}`,
      );
    line(bare);
    for (const s of subjects.slice(1)) {
      const m = await measureOne(client, s, opts);
      results.push(m);
      line(m);
    }
  }
  console.log(
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}
