import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FERRETDB_VERSION = 'v1.24.2';
const MODULE = `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`;

/** `${XDG_CACHE_HOME:-~/.cache}/keywarden`: per user, shared by every clone. */
export function cacheRoot(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'keywarden');
}

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The FerretDB binary, built once from the Go module proxy into `dir` when it is not there
 * yet. FerretDB's own build writes build/version/*.txt from git, and the binary panics at
 * start without them, so a plain `go install` does not do: the module source is copied and
 * built with them written. The binary is built under a temporary name and renamed into place,
 * so concurrent first runs each build and neither sees a half-written file.
 * Throws with a one-line reason when Go is missing or the build fails.
 */
export async function ferretdbBinary(dir: string, env: NodeJS.ProcessEnv, say: (line: string) => void): Promise<string> {
  const bin = join(dir, `ferretdb-${FERRETDB_VERSION}`);
  if (executable(bin)) return bin;
  try {
    await run('go', ['version'], { env });
  } catch {
    throw new Error('Go is not installed (FerretDB is built from source; Go 1.24 or newer: https://go.dev/dl/)');
  }
  say(`building FerretDB ${FERRETDB_VERSION} once (about 2 minutes)…`);
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, '.build-'));
  const tmpBin = `${bin}.tmp-${process.pid}`;
  const cleanUp = () => {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmpBin, { force: true });
  };
  // A process that exits mid-build (SIGTERM during the first `npm start`) takes `go` and the
  // half-built files with it.
  const abort = new AbortController();
  const onExit = () => {
    abort.abort();
    cleanUp();
  };
  process.once('exit', onExit);
  const { signal } = abort;
  try {
    // Outside any Go module, so that a go.mod around the working directory plays no part.
    const { stdout } = await run('go', ['mod', 'download', '-json', MODULE], { cwd: work, env, signal, maxBuffer: 1 << 20 });
    const src = JSON.parse(stdout) as { Dir?: string; Error?: string };
    if (!src.Dir) throw new Error(src.Error ?? 'no module directory');
    const tree = join(work, 'src');
    cpSync(src.Dir, tree, { recursive: true });
    chmodTree(tree);
    const version = join(tree, 'build', 'version');
    writeFileSync(join(version, 'version.txt'), `${FERRETDB_VERSION}\n`);
    writeFileSync(join(version, 'commit.txt'), 'unknown\n');
    writeFileSync(join(version, 'branch.txt'), 'main\n');
    await run('go', ['build', '-trimpath', '-o', tmpBin, './cmd/ferretdb'], { cwd: tree, env, signal, maxBuffer: 16 << 20 });
    renameSync(tmpBin, bin);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const detail = (err.stderr?.trim() || err.message).split('\n').slice(-2).join(' ');
    throw new Error(`building FerretDB ${FERRETDB_VERSION} failed (${detail})`);
  } finally {
    process.off('exit', onExit);
    cleanUp();
  }
  return bin;
}

/** The module cache is read-only; the copy must be writable to add the version files and remove it. */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}
