/**
 * At most `max` tasks at once, in the order they were asked for: the webhook POSTs of every
 * fan-out in one worker process share it, so that a revocation with 1,000 dependents and 50
 * revocations with 20 each open the same number of connections.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
