import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { KeyUsageRepository } from '../store/key-usage-repository.js';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Keys per bulk write. FerretDB v1 holds one PostgreSQL connection per matched update
 * statement until the whole command ends, so one bulk write larger than its pool
 * (`pool_max_conns`, 50 by default) deadlocks the server for every client. Reproduced:
 * a 130-key flush wedged FerretDB v1.24.2 until it was restarted.
 */
const CHUNK = 5;

/**
 * lastUsedAt without a write per request: uses are remembered in memory (latest time per
 * key) and written in one bulk write per interval, so each key is written at most once per
 * interval by each process.
 *
 * Writes go in small chunks (see CHUNK) and only one replica writes at a time (a Redis
 * lock), so all replicas together hold at most CHUNK of FerretDB's connections for this; a
 * replica that finds the lock taken keeps its batch for the next turn. Without Redis nothing is
 * written (the times are kept, merged, until Redis is back): lastUsedAt is informational.
 */
export class LastUsedRecorder {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly usage: KeyUsageRepository,
    private readonly redis: Redis,
    private readonly lockKey: string,
    private readonly log: Logger,
    intervalMs: number,
    /** Called first at every flush, to hand over uses kept elsewhere (`record(keyId, epochMs)`). */
    private readonly gather: (record: (keyId: string, at: number) => void) => void = () => undefined,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Records a use at `at` (epoch ms; default now). The latest use of a key wins. */
  used(keyId: string, at = Date.now()): void {
    if (!(this.pending.get(keyId)! >= at)) this.pending.set(keyId, at);
  }

  /** Writes what was recorded, if this process gets the lock (waits up to `waitMs` for it). */
  flush(waitMs = 0): Promise<void> {
    this.flushing ??= this.write(waitMs).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer and makes a last attempt (waiting a few seconds for the lock). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush(3_000);
    if (this.pending.size)
      this.log.info({ keys: this.pending.size }, 'lastUsedAt not recorded for some keys at shutdown (another replica held the lock or Redis was down)');
  }

  private async write(waitMs: number): Promise<void> {
    this.gather((keyId, at) => this.used(keyId, at));
    if (this.pending.size === 0) return;
    const owner = randomUUID();
    const deadline = Date.now() + waitMs;
    for (;;) {
      const got = await this.redis.set(this.lockKey, owner, 'PX', 30_000, 'NX').catch(() => null);
      if (got === 'OK') break;
      if (Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
    const batch = [...this.pending];
    this.pending = new Map();
    let done = 0;
    try {
      for (; done < batch.length; done += CHUNK) {
        await this.usage.touchLastUsed(new Map(batch.slice(done, done + CHUNK).map(([k, t]) => [k, new Date(t)])));
      }
    } catch (e) {
      // Put back what was not written, newer uses winning, for the next turn.
      for (const [k, t] of batch.slice(done)) if (!(this.pending.get(k)! >= t)) this.pending.set(k, t);
      this.log.warn({ err: (e as Error).message, keys: batch.length - done }, 'could not record lastUsedAt; will retry');
    } finally {
      await this.redis.eval(RELEASE, 1, this.lockKey, owner).catch(() => undefined);
    }
  }
}
