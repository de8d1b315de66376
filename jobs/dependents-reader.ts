import type { DependentRepository, FanoutDependent } from '../src/store/dependent-repository.js';

/** An async iterable of pages, fed by a producer that never waits for its consumer. */
class Channel<T> implements AsyncIterable<T[]> {
  private readonly pages: T[][] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(page: T[]): void {
    this.pages.push(page);
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

  async *[Symbol.asyncIterator](): AsyncIterator<T[]> {
    for (;;) {
      if (this.pages.length > 0) {
        yield this.pages.shift()!;
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

/** A page of dependents split by key. */
function byKey(page: FanoutDependent[]): Map<string, FanoutDependent[]> {
  const out = new Map<string, FanoutDependent[]>();
  for (const d of page) {
    const own = out.get(d.keyId);
    if (own) own.push(d);
    else out.set(d.keyId, [d]);
  }
  return out;
}

/**
 * Reads the dependents of the keys being fanned out, many keys per read: the fan-outs that
 * start within a few milliseconds of each other (a mass revocation) share one query, and
 * while a read is under way the keys asking meanwhile wait for the next one. On FerretDB
 * every read scans the whole collection, so fifty fan-outs cost one scan instead of fifty.
 * Each fan-out gets its own dependents, a page at a time, as they stream in.
 */
export class DependentsReader {
  private waiting = new Map<string, Array<Channel<FanoutDependent>>>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly repo: DependentRepository,
    private readonly lingerMs = 2,
  ) {}

  activeForSigning(keyId: string): AsyncIterable<FanoutDependent[]> {
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
      for await (const page of this.repo.activeForSigning([...batch.keys()])) {
        for (const [keyId, own] of byKey(page)) for (const c of batch.get(keyId) ?? []) c.push(own);
      }
    } catch (e) {
      failure = e instanceof Error ? e : new Error(`reading dependents failed: ${String(e)}`);
    } finally {
      for (const channels of batch.values()) for (const c of channels) c.end(failure);
      this.reading = false;
      if (this.waiting.size > 0) void this.read();
    }
  }
}
