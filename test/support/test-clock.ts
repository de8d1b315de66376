import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileClock, type Clock } from '../../src/util/clock.js';

/**
 * A clock shared by this test and the processes it starts (CLOCK_OFFSET_FILE): moving it is
 * writing the file, which every process reads on each use.
 */
export interface TestClock extends Clock {
  /** The path to give processes as CLOCK_OFFSET_FILE. */
  readonly file: string;
  /** Sets the clock so that now() is `at` (ms since the epoch); time flows on from there. */
  set(at: number): void;
  advance(ms: number): void;
  dispose(): void;
}

export function startTestClock(): TestClock {
  const dir = mkdtempSync(join(tmpdir(), 'kw-clock-'));
  const file = join(dir, 'offset');
  let offset = 0;
  const move = () => {
    // Write then rename (atomic): a reader never sees a missing or half-written number.
    writeFileSync(`${file}.tmp`, String(offset));
    renameSync(`${file}.tmp`, file);
  };
  move();
  const clock = fileClock(file);
  return {
    file,
    now: () => clock.now(),
    set(at) {
      offset = Math.round(at - Date.now());
      move();
    },
    advance(ms) {
      offset += ms;
      move();
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
