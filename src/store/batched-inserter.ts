import type mongoose from 'mongoose';

/** What became of one document handed to a {@link BatchedInserter}. */
export type InsertResult = 'inserted' | 'duplicate';

interface Waiting<T> {
  doc: T;
  resolve: (r: InsertResult) => void;
  reject: (e: Error) => void;
}

export interface BatchedInserterOptions {
  /** How long the first document of a batch waits for others (a few milliseconds). */
  lingerMs: number;
  /** A batch is written at once when it reaches this many documents. */
  maxBatch: number;
}

/**
 * Gathers inserts into one collection for a few milliseconds and writes them with one
 * unordered `insertMany`: on FerretDB v1 (SQLite) one insert of a hundred documents costs
 * about what one single update does. Each caller learns whether its document was inserted
 * or was a duplicate of its deterministic `_id` (someone else decided first). One batch is
 * written at a time; documents arriving meanwhile form the next. {@link close} writes
 * whatever is waiting at once and waits for it.
 */
export class BatchedInserter<T> {
  private queue: Array<Waiting<T>> = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    /**
     * An unordered insert of the batch: the driver's insertMany (which throws an error
     * carrying `writeErrors` by index) or {@link insertCommand} (which answers with them).
     */
    private readonly insertMany: (docs: T[]) => Promise<unknown>,
    private readonly opts: BatchedInserterOptions,
  ) {}

  /** Inserts `doc` with the next batch. */
  insert(doc: T): Promise<InsertResult> {
    return new Promise<InsertResult>((resolve, reject) => {
      this.queue.push({ doc, resolve, reject });
      this.schedule();
    });
  }

  /** Writes everything waiting now, and resolves once all of it is written. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.writing) {
      if (this.writing) await this.writing;
      else this.startWrite();
    }
  }

  private schedule(): void {
    if (this.writing) return; // the write in flight starts the next batch when it ends
    if (this.closed || this.queue.length >= this.opts.maxBatch) return this.startWrite();
    if (!this.timer) this.timer = setTimeout(() => this.startWrite(), this.opts.lingerMs);
  }

  private startWrite(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.writing = this.write(batch).finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async write(batch: Array<Waiting<T>>): Promise<void> {
    let errors: unknown;
    try {
      const answer = (await this.insertMany(batch.map((w) => w.doc))) as { writeErrors?: unknown; writeConcernError?: { errmsg?: string } } | undefined;
      if (answer?.writeConcernError) throw new Error(`insert not acknowledged as asked: ${answer.writeConcernError.errmsg ?? 'write concern error'}`);
      errors = answer?.writeErrors; // the insert command answers with them
    } catch (e) {
      errors = (e as { writeErrors?: unknown }).writeErrors; // the driver's insertMany throws them
      if (!errors) {
        for (const w of batch) w.reject(e as Error);
        return;
      }
    }
    const list = (Array.isArray(errors) ? errors : errors ? [errors] : []) as Array<{ index: number; code?: number; errmsg?: string }>;
    const failed = new Map(list.map((we) => [we.index, we]));
    batch.forEach((w, i) => {
      const we = failed.get(i);
      if (!we) w.resolve('inserted');
      else if (we.code === 11000) w.resolve('duplicate');
      else w.reject(new Error(we.errmsg ?? `insert failed (code ${we.code})`));
    });
  }
}

/**
 * An unordered `insert` command for a {@link BatchedInserter}, answered with its
 * `writeErrors` instead of throwing. Sent as the command itself rather than through the
 * driver's insertMany, which goes through its bulk-write machinery: that serializes every
 * document twice (once to size the batch, once to send it) and builds a result per document,
 * about half the worker's database CPU in a fan-out of 1,000 (bench/revocation-fanout).
 * Documents go as given: nothing is cast, validated or given an `_id`. Unlike insertMany on
 * a replica set, the driver does not retry the command after a network error or a primary
 * step-down: the batch fails, every caller waiting on it is rejected, and their jobs run
 * again (every document has a deterministic `_id`, so a batch that did land is not doubled).
 */
export function insertCommand<T>(db: () => mongoose.mongo.Db | undefined, collection: string): (docs: T[]) => Promise<unknown> {
  return async (docs) => {
    const conn = db();
    if (!conn) throw new Error('MongoDB is not connected');
    return conn.command({ insert: collection, documents: docs, ordered: false });
  };
}
