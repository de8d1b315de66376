import type { DependentRepository, FanoutDependent } from '../src/store/dependent-repository.js';

/** An async iterable fed by a producer that never waits for its consumer. */
class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.signal();
  }

  end(failure?: Error): void {
    this.ended = true;
    this.failure = failure;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

/**
 * Reads the dependents of the keys being fanned out, many keys per read: the fan-outs that
 * start within a few milliseconds of each other (a mass revocation) share one query, and
 * while a read is under way the keys asking meanwhile wait for the next one. On FerretDB
 * every read scans the whole collection, so fifty fan-outs cost one scan instead of fifty.
 * Each fan-out gets its own dependents as they stream in.
 */
export class DependentsReader {
  private waiting = new Map<string, Array<Channel<FanoutDependent>>>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly repo: DependentRepository,
    private readonly lingerMs = 2,
  ) {}

  activeForSigning(keyId: string): AsyncIterable<FanoutDependent> {
    const channel = new Channel<FanoutDependent>();
    this.waiting.set(keyId, [...(this.waiting.get(keyId) ?? []), channel]);
    if (!this.reading && !this.timer) this.timer = setTimeout(() => void this.read(), this.lingerMs);
    return channel;
  }

  private async read(): Promise<void> {
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = new Map();
    this.reading = true;
    let failure: Error | undefined;
    try {
      for await (const d of this.repo.activeForSigning([...batch.keys()])) for (const c of batch.get(d.keyId) ?? []) c.push(d);
    } catch (e) {
      failure = e instanceof Error ? e : new Error(`reading dependents failed: ${String(e)}`);
    } finally {
      for (const channels of batch.values()) for (const c of channels) c.end(failure);
      this.reading = false;
      if (this.waiting.size > 0) void this.read();
    }
  }
}
