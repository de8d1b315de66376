import type { MonotonicClock } from '../../src/util/monotonic-clock.js';

interface Timer {
  at: number;
  ms: number;
  resolve(): void;
}

/**
 * A MonotonicClock that moves only when told to: `sleep`s resolve when `advance` passes their time.
 * `sleeping()` waits (in real time, for real I/O to happen) until some code is asleep.
 */
export class FakeClock implements MonotonicClock {
  private t = 10_000;
  private timers: Timer[] = [];
  private waiters: Array<() => void> = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer: Timer = { at: this.t + ms, ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        },
        { once: true },
      );
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Moves time on by `ms`, waking every sleeper whose time has come, earliest first. */
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.resolve();
  }

  /** The durations of the sleeps now pending, in the order they began. */
  get sleeps(): number[] {
    return this.timers.map((x) => x.ms);
  }

  /** Resolves once at least `n` sleeps are pending (real time passes meanwhile: I/O goes on). */
  async sleeping(n = 1, timeoutMs = 5_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.timers.length < n) {
      if (Date.now() > until) throw new Error(`nothing went to sleep within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }
}
