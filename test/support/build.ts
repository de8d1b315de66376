import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const stamp = join(root, 'dist', '.tsbuildinfo');

const newest = (path: string): number => {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
};

/**
 * Runs `npm run build` when a source of dist/ (src/, jobs/, the tsconfigs, package.json) is
 * newer than the last build, so that the tests that start `node dist/…` never run stale code.
 */
export async function ensureBuilt(say: (line: string) => void): Promise<void> {
  const sources = ['src', 'jobs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p));
  if (existsSync(stamp) && existsSync(join(root, 'dist/src/main/all.js')) && statSync(stamp).mtimeMs >= Math.max(...sources.map(newest))) return;
  say('tests: building dist/ (npm run build)…');
  const entry = join(root, 'dist/src/main/all.js');
  await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: root }).catch((e: Error & { stdout?: string }) => {
    // tsc still writes dist/ when it finds type errors; `npm test` reports them by its own
    // type check, and the tests need not all fail for one.
    if (!existsSync(entry) || !/error TS\d+/.test(e.stdout ?? '')) throw new Error(`npm run build failed:\n${e.stdout ?? e.message}`);
    say(`tests: dist/ built with type errors (npm run typecheck lists them):\n${(e.stdout ?? '').split('\n').slice(0, 5).join('\n')}`);
  });
  // tsc leaves its build info untouched when nothing changed: mark this build as the latest.
  const now = new Date();
  if (existsSync(stamp)) utimesSync(stamp, now, now);
}
