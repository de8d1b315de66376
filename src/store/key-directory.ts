import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import type { Cursor, ListQuery } from '../keys/key-record.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import type { ApiKeyDoc } from './models/api-key.js';
import type { Models } from './mongo.js';

/** A key's document as the lists read it. */
export type KeyRow = ApiKeyDoc & { _id: Types.ObjectId };

/**
 * One key as the directory holds it: only what a list filters and sorts on. About 0.4 KB
 * per key in the V8 heap (measured by bench/slack-ack: the object, its four strings).
 */
interface Entry {
  /** The document's `_id` (hex): the sort's tie-breaker, and the one filter FerretDB pushes down. */
  readonly id: string;
  /** createdAt, ms since the epoch. */
  readonly t: number;
  status: 'active' | 'revoked';
  createdBy: string;
  /** expiresAt, ms; undefined: never. */
  expiresAt: number | undefined;
  /** name, description and keyId, lower-cased, one per line: a search word must be inside one of them. */
  text: string;
}

/** What a community's directory is: its keys sorted newest first, and how far it has read the change log. */
interface Community {
  readonly communityId: string;
  /** Sorted by (t desc, id desc), the order of every list. */
  entries: Entry[];
  /** The change log's generation this directory was loaded under (see {@link KeyDirectory}). */
  gen: string;
  /** The last change (sequence number) applied. */
  seq: number;
  /** When it was loaded (the injectable clock, ms). */
  loadedAt: number;
  /** A reload in flight (a lost log, or age), joined by whoever needs one. */
  reloading?: Promise<void>;
}

export interface KeyDirectoryOptions {
  /** Keys of its Redis entries: the queue prefix and the database name, so that deployments sharing a Redis stay apart. */
  namespace: string;
  /** A community's directory is reloaded in the background when older than this (bounds a lost publish). Default 5 min. */
  maxAgeMs?: number;
  /** Keys held over all communities; least recently listed communities are dropped beyond it. Default 200,000. */
  maxKeys?: number;
  /** Entries kept in each community's change log (approximately). Default 1,000. */
  logLength?: number;
}

/** Changes read in one catch-up; a reader further behind reloads instead. */
const MAX_REPLAY = 500;

/** Redis could not be used (as opposed to the database): the directory steps aside. */
class RedisUnavailable extends Error {}

/** Runs a Redis call, any failure of it becoming a {@link RedisUnavailable}. */
async function viaRedis<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw new RedisUnavailable((e as Error).message);
  }
}

/** The results of a MULTI, or a {@link RedisUnavailable} when it or any command in it failed. */
function results(res: Array<[Error | null, unknown]> | null): unknown[] {
  const err = res?.find(([e]) => e)?.[0];
  if (!res || err) throw new RedisUnavailable(err?.message ?? 'transaction aborted');
  return res.map(([, v]) => v);
}

/**
 * Appends one change: the sequence number (INCR) and the log entry carrying the key's `_id`
 * under the id `<seq>-0`, in one step, so a reader sees a gap in the ids exactly when
 * entries were trimmed before it read them.
 */
const PUBLISH = `
local n = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], n .. '-0', 'id', ARGV[2])
return n`;

const byPosition = (a: { t: number; id: string }, b: { t: number; id: string }) => (a.t !== b.t ? b.t - a.t : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function entryOf(d: KeyRow): Entry {
  return {
    id: d._id.toHexString(),
    t: d.createdAt.getTime(),
    status: d.status,
    createdBy: d.createdBy,
    expiresAt: d.expiresAt ? d.expiresAt.getTime() : undefined,
    text: `${d.name}\n${d.description}\n${d.keyId}`.toLowerCase(),
  };
}

/**
 * Whether a key belongs in a list: the same rules as the database query of KeyRepository
 * (status with expiry against `now`, creator, each word in name, description or keyId,
 * case-insensitively). Words never hold whitespace, so none matches across two fields.
 */
function matches(e: Entry, q: ListQuery, words: string[]): boolean {
  if (q.createdBy !== undefined && e.createdBy !== q.createdBy) return false;
  const now = q.now.getTime();
  if (q.status === 'revoked' && e.status !== 'revoked') return false;
  if (q.status === 'expired' && !(e.status === 'active' && e.expiresAt !== undefined && e.expiresAt <= now)) return false;
  if (q.status === 'active' && !(e.status === 'active' && (e.expiresAt === undefined || e.expiresAt > now))) return false;
  return words.every((w) => e.text.includes(w));
}

/** The first index whose entry comes after `c` in list order (older), by binary search. */
function firstAfter(entries: Entry[], c: { t: number; id: string }): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byPosition(entries[mid]!, c) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the entry at exactly `c`'s position, or -1. */
function indexOf(entries: Entry[], c: { t: number; id: string }): number {
  const i = firstAfter(entries, c) - 1;
  return i >= 0 && entries[i]!.id === c.id ? i : -1;
}

/**
 * The key directory: per community, the list-relevant fields of every key, in list order,
 * in this process's memory, so that a list filters and pages without a query FerretDB
 * would answer by reading the whole collection (it pushes down only `{_id}`). A page's
 * documents are then read by `_id`, in parallel, and each is checked again against the
 * filter: a stale entry is corrected and never shown.
 *
 * Freshness across replicas: every write of a list-relevant field (a key inserted,
 * revoked) is published to the community's change log in Redis (a stream, its entries
 * numbered by a counter); before each list the directory reads the entries it has not seen
 * (one round trip) and re-reads just those keys by `_id`. A log that was lost (Redis
 * flushed or restarted without its data: the community's generation key, made with
 * SET NX at load, is gone or another) or trimmed past this reader (a gap in the numbers)
 * makes it reload the community. A writer that died between its database write and its
 * publish is put right by the page check (a revoked key is never listed as active) and by
 * the reload of any community whose directory is older than `maxAgeMs`, in the background.
 * When Redis cannot be reached the directory is dropped and {@link find} answers undefined:
 * the caller queries the database (slow, but right); one log line says so.
 */
export class KeyDirectory {
  private readonly communities = new Map<string, Community>();
  private readonly loading = new Map<string, Promise<Community | undefined>>();
  /** Communities too large to hold, until when they are not tried again. */
  private readonly tooBig = new Map<string, number>();
  /**
   * Changes whose publish failed, published before the next ones; `all` when too many piled
   * up: the community's generation is then dropped instead, so that every replica reloads it.
   */
  private readonly unpublished = new Map<string, Set<string> | 'all'>();
  private readonly maxAgeMs: number;
  private readonly maxKeys: number;
  private readonly logLength: number;
  private redisDown = false;

  constructor(
    private readonly m: Models,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly opts: KeyDirectoryOptions,
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 5 * 60_000;
    this.maxKeys = opts.maxKeys ?? 200_000;
    this.logLength = opts.logLength ?? 1_000;
  }

  /**
   * The rows of a list page in the order of travel (newest first, or oldest first for a
   * page before a cursor), up to `q.limit + 1` of them, each read by `_id` and checked
   * against the filter; undefined when the directory cannot answer (Redis unreachable, a
   * community too large to hold): then the caller queries the database.
   */
  async find(q: ListQuery): Promise<KeyRow[] | undefined> {
    const c = await this.ready(q.communityId);
    if (!c) return undefined;
    const words = q.words.map((w) => w.toLowerCase());
    const backwards = Boolean(q.before && !q.after);
    const want = q.limit + 1;
    const rows: KeyRow[] = [];
    // Where the scan stands, as a position (entries may be added or removed while we wait).
    let at: Cursor | undefined = q.after ?? q.before;
    for (;;) {
      const picked = this.scan(c.entries, q, words, at, backwards, want - rows.length);
      if (picked.length === 0) return rows;
      at = { t: picked[picked.length - 1]!.t, id: picked[picked.length - 1]!.id };
      const docs = await Promise.all(picked.map((e) => this.m.apiKeys.findById(e.id).lean<KeyRow>()));
      picked.forEach((e, i) => {
        const d = docs[i];
        this.correct(c, e, d ?? undefined);
        if (d && matches(entryOf(d), q, words)) rows.push(d);
      });
      if (rows.length >= want) return rows;
    }
  }

  /**
   * Tells every replica that a key changed (inserted or revoked): appended to its
   * community's change log. Never throws: a change that cannot be published now is kept and
   * published before the next one; until then the page check and the age reload bound it.
   */
  async changed(communityId: string, id: Types.ObjectId | string): Promise<void> {
    const hex = typeof id === 'string' ? id : id.toHexString();
    const pending = this.unpublished.get(communityId) ?? new Set<string>();
    if (pending !== 'all') pending.add(hex);
    this.unpublished.set(communityId, pending !== 'all' && pending.size > MAX_REPLAY ? 'all' : pending);
    try {
      await this.publishPending();
    } catch (e) {
      this.redisFailed(e);
    }
  }

  /**
   * Makes every replica reload a community at its next list (its generation key deleted):
   * for writes that went around the repository, such as a bulk import.
   */
  async invalidate(communityId: string): Promise<void> {
    await this.connect();
    await this.redis.del(this.keys(communityId).gen);
  }

  /** How many keys are held, over how many communities (for the bench). */
  size(): { communities: number; keys: number } {
    return { communities: this.communities.size, keys: this.held() };
  }

  /** Closes the Redis connection. */
  close(): void {
    this.redis.disconnect();
  }

  private keys(communityId: string) {
    // The braces keep one community's keys in one Redis Cluster slot (the script uses two).
    const base = `${this.opts.namespace}:keydir:{${communityId}}`;
    return { gen: `${base}:gen`, seq: `${base}:seq`, log: `${base}:log` };
  }

  private async connect(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
  }

  /** Publishes the changes not yet published, oldest first (throws RedisUnavailable). */
  private async publishPending(): Promise<void> {
    await this.connect();
    for (const [communityId, ids] of [...this.unpublished]) {
      const k = this.keys(communityId);
      if (ids === 'all') await viaRedis(() => this.redis.del(k.gen));
      else
        for (const id of [...ids]) {
          await viaRedis(() => this.redis.eval(PUBLISH, 2, k.seq, k.log, this.logLength, id));
          ids.delete(id);
        }
      this.unpublished.delete(communityId);
    }
  }

  /** The community's directory, loaded or caught up with the change log; undefined: ask the database. */
  private async ready(communityId: string): Promise<Community | undefined> {
    if ((this.tooBig.get(communityId) ?? -Infinity) > this.clock.now()) return undefined;
    try {
      if (this.unpublished.size) await this.publishPending();
      const c = this.communities.get(communityId);
      if (!c) return await this.load(communityId);
      await this.catchUp(c);
      if (this.communities.get(communityId) !== c) return undefined;
      // Most recently listed last: the first in the map is the one to drop.
      this.communities.delete(communityId);
      this.communities.set(communityId, c);
      const age = this.clock.now() - c.loadedAt;
      if (!c.reloading && (age > this.maxAgeMs || age < -this.maxAgeMs))
        this.reload(c).catch((e: unknown) => {
          if (e instanceof RedisUnavailable) this.redisFailed(e);
          else this.log.warn({ err: (e as Error).message, communityId }, 'key directory: reload failed; the next list tries again');
        });
      return c;
    } catch (e) {
      if (!(e instanceof RedisUnavailable)) throw e;
      this.redisFailed(e);
      return undefined;
    }
  }

  /** Loads a community (concurrent callers share one load). */
  private load(communityId: string): Promise<Community | undefined> {
    let p = this.loading.get(communityId);
    if (!p) {
      p = this.read(communityId)
        .then((c) => {
          if (c) this.keep(c);
          return c;
        })
        .finally(() => this.loading.delete(communityId));
      this.loading.set(communityId, p);
    }
    return p;
  }

  /**
   * Reads a community: first the log's generation (made if absent) and sequence number, then
   * every key. Any change after that number is in the log, so nothing is missed between.
   */
  private async read(communityId: string): Promise<Community | undefined> {
    const k = this.keys(communityId);
    await this.connect();
    const res = results(await viaRedis(() => this.redis.multi().set(k.gen, randomUUID(), 'NX').get(k.gen).get(k.seq).exec()));
    if (this.redisDown) {
      this.redisDown = false;
      this.log.info('key directory: Redis reachable again; lists use the directory');
    }
    const gen = res[1] as string;
    const seq = Number(res[2] ?? 0);
    const loadedAt = this.clock.now();
    const docs = await this.m.apiKeys
      .find({ communityId }, { _id: 1, keyId: 1, name: 1, description: 1, status: 1, createdBy: 1, createdAt: 1, expiresAt: 1 })
      .lean<KeyRow[]>();
    if (docs.length > this.maxKeys) {
      this.tooBig.set(communityId, loadedAt + this.maxAgeMs);
      this.log.warn({ communityId, keys: docs.length, max: this.maxKeys }, 'key directory: community too large to hold; its lists read the database');
      return undefined;
    }
    return { communityId, entries: docs.map(entryOf).sort(byPosition), gen, seq, loadedAt };
  }

  /** Reloads a community in place (shared by concurrent callers). */
  private reload(c: Community): Promise<void> {
    c.reloading ??= this.read(c.communityId)
      .then((fresh) => {
        if (!fresh) {
          this.forget(c.communityId);
          return;
        }
        // Changes applied meanwhile to the old entries are in the log after fresh.seq: replayed.
        Object.assign(c, { entries: fresh.entries, gen: fresh.gen, seq: fresh.seq, loadedAt: fresh.loadedAt });
        this.evict();
      })
      .finally(() => {
        c.reloading = undefined;
      });
    return c.reloading;
  }

  /** Applies the changes this directory has not seen, or reloads when its log was lost or trimmed. */
  private async catchUp(c: Community): Promise<void> {
    if (c.reloading) return c.reloading;
    const k = this.keys(c.communityId);
    const from = c.seq;
    const res = results(
      await viaRedis(() =>
        this.redis
          .multi()
          .get(k.gen)
          .get(k.seq)
          .xrange(k.log, `${from + 1}-0`, '+', 'COUNT', MAX_REPLAY)
          .exec(),
      ),
    );
    const gen = res[0] as string | null;
    const seq = Number(res[1] ?? 0);
    const log = res[2] as Array<[string, string[]]>;
    if (gen !== c.gen || seq < from) return this.reload(c); // the log was lost (flushed, restarted empty)
    if (seq === from) return;
    const first = log[0] ? Number(log[0][0].split('-')[0]) : undefined;
    if (first !== from + 1 || seq - from > MAX_REPLAY) return this.reload(c); // trimmed past us, or far behind
    const ids = [...new Set(log.map(([, fields]) => fields[fields.indexOf('id') + 1]!))];
    const docs = await Promise.all(ids.map((id) => this.m.apiKeys.findById(id).lean<KeyRow>()));
    ids.forEach((id, i) => {
      const d = docs[i];
      if (d) this.put(c, d);
      else this.remove(c, id);
    });
    c.seq = Math.max(c.seq, Number(log[log.length - 1]![0].split('-')[0]));
  }

  /** Puts what a fresh read of a key says into the directory (the read may be older than one applied before it). */
  private put(c: Community, d: KeyRow): void {
    if (d.communityId !== c.communityId) return;
    const fresh = entryOf(d);
    const i = indexOf(c.entries, fresh);
    if (i < 0) {
      c.entries.splice(firstAfter(c.entries, fresh), 0, fresh);
      return;
    }
    const e = c.entries[i]!;
    // A revocation is never undone: a read older than one that saw it cannot bring `active` back.
    Object.assign(e, fresh, e.status === 'revoked' ? { status: 'revoked' } : {});
  }

  private remove(c: Community, id: string): void {
    const i = c.entries.findIndex((e) => e.id === id);
    if (i >= 0) c.entries.splice(i, 1);
  }

  /** A page's fresh read of an entry: corrects it (or removes it, the key gone). */
  private correct(c: Community, e: Entry, d: KeyRow | undefined): void {
    if (!d || d.communityId !== c.communityId) {
      const i = indexOf(c.entries, e);
      if (i >= 0 && c.entries[i] === e) c.entries.splice(i, 1);
      return;
    }
    const fresh = entryOf(d);
    if (e.status === 'revoked') fresh.status = 'revoked';
    Object.assign(e, fresh);
  }

  /**
   * Up to `count` matching entries from the position `at` (exclusive) in the direction of
   * travel: older for a forward page, newer for a page before a cursor.
   */
  private scan(entries: Entry[], q: ListQuery, words: string[], at: Cursor | undefined, backwards: boolean, count: number): Entry[] {
    const out: Entry[] = [];
    if (backwards) {
      for (let i = (at ? firstAfter(entries, at) : entries.length) - 1; i >= 0 && out.length < count; i--) {
        const e = entries[i]!;
        if (at && e.t === at.t && e.id === at.id) continue;
        if (matches(e, q, words)) out.push(e);
      }
    } else {
      for (let i = at ? firstAfter(entries, at) : 0; i < entries.length && out.length < count; i++) {
        if (matches(entries[i]!, q, words)) out.push(entries[i]!);
      }
    }
    return out;
  }

  private keep(c: Community): void {
    this.communities.delete(c.communityId);
    this.communities.set(c.communityId, c);
    this.evict();
  }

  private held(): number {
    let n = 0;
    for (const c of this.communities.values()) n += c.entries.length;
    return n;
  }

  /** Drops the least recently listed communities while more than `maxKeys` keys are held (never the last one listed). */
  private evict(): void {
    let held = this.held();
    for (const [id, c] of this.communities) {
      if (held <= this.maxKeys || this.communities.size <= 1) return;
      this.communities.delete(id);
      held -= c.entries.length;
    }
  }

  private forget(communityId: string): void {
    this.communities.delete(communityId);
  }

  /**
   * Redis could not be used: every community is dropped (changes published meanwhile may be
   * missed, and writers may not have published theirs), and lists read the database until a
   * load succeeds again. Said once per outage.
   */
  private redisFailed(e: unknown): void {
    for (const id of [...this.communities.keys()]) this.forget(id);
    if (this.redisDown) return;
    this.redisDown = true;
    this.log.warn({ err: (e as Error).message }, 'key directory: cannot use Redis; lists read the database (slow for large workspaces) until it is back');
  }
}

/** The directory's own Redis connection: opened on first use, failing fast while Redis is down. */
export function directoryRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: 'keywarden-key-directory',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastErrorLog = Number.NEGATIVE_INFINITY;
  redis.on('error', (e: Error) => {
    // Reconnect errors repeat while Redis is down: one line per minute.
    if (Date.now() - lastErrorLog < 60_000) return;
    lastErrorLog = Date.now();
    log.debug({ err: e.message }, 'key directory: Redis connection error');
  });
  return redis;
}
