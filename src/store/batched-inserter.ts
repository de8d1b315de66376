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
    /** An unordered insertMany (the driver's error carries `writeErrors` by index). */
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
    try {
      await this.insertMany(batch.map((w) => w.doc));
      for (const w of batch) w.resolve('inserted');
    } catch (e) {
      const errors = (e as { writeErrors?: unknown }).writeErrors;
      const list = (Array.isArray(errors) ? errors : errors ? [errors] : []) as Array<{ index: number; code?: number; errmsg?: string }>;
      if (list.length === 0) {
        for (const w of batch) w.reject(e as Error);
        return;
      }
      const failed = new Map(list.map((we) => [we.index, we]));
      batch.forEach((w, i) => {
        const we = failed.get(i);
        if (!we) w.resolve('inserted');
        else if (we.code === 11000) w.resolve('duplicate');
        else w.reject(new Error(we.errmsg ?? `insert failed (code ${we.code})`));
      });
    }
  }
}
