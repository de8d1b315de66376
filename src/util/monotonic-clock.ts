import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Elapsed time and waiting (leases, deadlines), injectable so that tests move time instead
 * of sleeping. `now()` is in milliseconds on an arbitrary origin (performance.now() in
 * production). Dates (expiry, audit times) come from `Clock` in clock.ts instead.
 */
export interface MonotonicClock {
  now(): number;
  /** Resolves after `ms`; rejects (AbortError) if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemMonotonicClock: MonotonicClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};
