import { readFileSync } from 'node:fs';

/**
 * The one source of "now" for the domain and the jobs (expiry, reminders, audit times), so
 * that tests move time instead of sleeping. Durations that only measure elapsed time
 * (timeouts, leases) keep using the monotonic performance.now().
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock whose offset from the wall clock a test sets and moves (in-process tests). */
export class OffsetClock implements Clock {
  constructor(public offsetMs = 0) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  /** Moves the clock forward (or back, with a negative `ms`). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/**
 * A clock shared by several processes of a test or a drill: the wall clock plus the whole
 * milliseconds written in `path` (none or unreadable: 0). The file is read on every call,
 * so a move is seen at once by every process; it is meant for tests, never for production.
 */
export function fileClock(path: string): Clock {
  const offset = () => {
    try {
      const n = Number(readFileSync(path, 'utf8').trim());
      return Number.isFinite(n) ? n : 0;
    } catch {
      return 0;
    }
  };
  return { now: () => Date.now() + offset() };
}

/** The clock a process runs on: the system clock unless CLOCK_OFFSET_FILE names a test clock. */
export const clockFor = (config: { CLOCK_OFFSET_FILE?: string | undefined }): Clock =>
  config.CLOCK_OFFSET_FILE ? fileClock(config.CLOCK_OFFSET_FILE) : systemClock;
