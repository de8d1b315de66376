import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { mongo, type Types } from 'mongoose';
import type { Cursor, ListQuery } from '../keys/key-record.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { failFastRedis } from '../util/fail-fast-redis.js';
import type { ApiKeyDoc } from './models/api-key.js';
import type { Models } from './mongo.js';

/** A key's document as the lists read it. */
export type KeyRow = ApiKeyDoc & { _id: Types.ObjectId };
/** A row of a list page from the directory: the document and when the key was last used. */
export type ListedRow = KeyRow & { lastUsedAt?: Date };

/** The fields of a key's document never held or published: the hashes of its secrets. */
const SECRET_FIELDS = ['tokenHash', 'previousTokenHash', 'retiredTokenHashes'] as const;
const withoutSecrets = (d: KeyRow): KeyRow => {
  const row = { ...d };
  for (const f of SECRET_FIELDS) delete (row as Partial<KeyRow>)[f];
  return row;
};

/**
 * One key as the directory holds it: its document without the secrets' hashes (what a list
 * page shows), and what a list sorts and searches on. About 1.4 KB per key in the V8 heap
 * (measured by bench/slack-ack).
 */
interface Entry {
  /** The document's `_id` (hex): the sort's tie-breaker. */
  readonly id: string;
  /** createdAt, ms since the epoch. */
  readonly t: number;
  row: KeyRow;
  /** name, description and keyId, lower-cased, one per line: a search word must be inside one of them. */
  text: string;
  /** When the key was last used (ms), from the usage collection and then the usage log. */
  lastUsedAt?: number;
}

/** What a community's directory is: its keys sorted newest first, and how far it has read the change log. */
interface Community {
  readonly communityId: string;
  /** Sorted by (t desc, id desc), the order of every list. */
  entries: Entry[];
  /** The same entries by keyId (usage is published by keyId). */
  byKeyId: Map<string, Entry>;
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
  /** Keys held over all communities; least recently listed communities are dropped beyond it. Default 100,000. */
  maxKeys?: number;
  /** Entries kept in each community's change log (approximately). Default 1,000. */
  logLength?: number;
}

/** Changes read in one catch-up; a reader further behind reloads instead. */
const MAX_REPLAY = 500;
/** Entries kept in the usage log (approximately), and read in one catch-up. */
const USAGE_LOG_LENGTH = 10_000;
const USAGE_REPLAY = 2_000;

/** Stream ids (`<ms>-<n>`) in order. */
const streamIdAfter = (a: string, b: string) => {
  const [am, an] = a.split('-').map(Number) as [number, number];
  const [bm, bn] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am > bm : an > bn;
};

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
 * Appends one change: the sequence number (INCR) and the log entry carrying the key's
 * document as written (without the secrets' hashes) under the id `<seq>-0`, in one step, so
 * a reader sees a gap in the ids exactly when entries were trimmed before it read them.
 */
const PUBLISH = `
local n = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], n .. '-0', 'doc', ARGV[2])
return n`;

const { EJSON } = mongo.BSON;

const byPosition = (a: { t: number; id: string }, b: { t: number; id: string }) => (a.t !== b.t ? b.t - a.t : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function entryOf(d: KeyRow): Entry {
  return {
    id: d._id.toHexString(),
    t: d.createdAt.getTime(),
    row: withoutSecrets(d),
    text: `${d.name}\n${d.description}\n${d.keyId}`.toLowerCase(),
  };
}

/**
 * Whether a key belongs in a list: the same rules as the database query of KeyRepository
 * (status with expiry against `now`, creator, each word in name, description or keyId,
 * case-insensitively). Words never hold whitespace, so none matches across two fields.
 */
function matches(e: Entry, q: ListQuery, words: string[]): boolean {
  const { status, createdBy } = e.row;
  if (q.createdBy !== undefined && createdBy !== q.createdBy) return false;
  const now = q.now.getTime();
  const expiresAt = e.row.expiresAt ? e.row.expiresAt.getTime() : undefined;
  if (q.status === 'revoked' && status !== 'revoked') return false;
  if (q.status === 'expired' && !(status === 'active' && expiresAt !== undefined && expiresAt <= now)) return false;
  if (q.status === 'active' && !(status === 'active' && (expiresAt === undefined || expiresAt > now))) return false;
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
 * The key directory: per community, every key's document (without the secrets' hashes), in
 * list order, in this process's memory, so that a list filters and pages without a query.
 * FerretDB v1 on SQLite reads and decodes the whole collection for any filter but `{_id}`,
 * and even `{_id}` is a scan of the table inside SQLite (its `_id` index is declared on
 * another expression than the one it queries), tens of milliseconds per key at 10,000
 * keys: so a page is served from memory, with no read at all.
 *
 * Freshness across replicas: every write of a field a list shows (a key inserted, revoked,
 * rolled) publishes the document as written to the community's change log in Redis (a
 * stream, its entries numbered by a counter); before each list the directory applies the
 * entries it has not seen (one round trip, no database read). A log that was lost (Redis
 * flushed or restarted without its data: the community's generation key, made with SET NX
 * at load, is gone or another) or trimmed past this reader (a gap in the numbers) makes it
 * reload the community. A revocation is never undone by an older entry. A writer that died
 * between its database write and its publish is bounded by the reload of any community
 * whose directory is older than `maxAgeMs`, in the background. When Redis cannot be used
 * the directory is dropped and {@link find} answers undefined: the caller queries the
 * database (slow, but right); one log line says so.
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
  private readonly unpublished = new Map<string, Map<string, KeyRow> | 'all'>();
  private readonly maxAgeMs: number;
  private readonly maxKeys: number;
  private readonly logLength: number;
  private redisDown = false;
  /** How far the usage log was read (a stream id); undefined until the first load. */
  private usageFrom: string | undefined;

  constructor(
    private readonly m: Models,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly opts: KeyDirectoryOptions,
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 5 * 60_000;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.logLength = opts.logLength ?? 1_000;
  }

  /**
   * The rows of a list page in the order of travel (newest first, or oldest first for a
   * page before a cursor), up to `q.limit + 1` of them (without the secrets' hashes);
   * undefined when the directory cannot answer (Redis unreachable, a community too large to
   * hold): then the caller queries the database.
   */
  async find(q: ListQuery): Promise<ListedRow[] | undefined> {
    const c = await this.ready(q.communityId);
    if (!c) return undefined;
    const words = q.words.map((w) => w.toLowerCase());
    const backwards = Boolean(q.before && !q.after);
    return this.scan(c.entries, q, words, q.after ?? q.before, backwards, q.limit + 1).map((e) =>
      e.lastUsedAt === undefined ? e.row : { ...e.row, lastUsedAt: new Date(e.lastUsedAt) },
    );
  }

  /**
   * Tells every replica when keys were last used (the usage collection's one writer calls
   * it after each write): appended to the usage log, which every directory reads with its
   * next list. Best effort, as lastUsedAt is: a lost entry is put right by the age reload.
   */
  async used(seen: Map<string, Date>): Promise<void> {
    if (seen.size === 0) return;
    const fields = [...seen].flatMap(([keyId, at]) => [keyId, String(at.getTime())]);
    try {
      await this.connect();
      await this.redis.xadd(this.usageKey(), 'MAXLEN', '~', USAGE_LOG_LENGTH, '*', ...fields);
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'key directory: could not publish lastUsedAt');
    }
  }

  /**
   * Tells every replica that a key changed (inserted, revoked, rolled): its document as
   * written is appended to its community's change log. Never throws: a change that cannot
   * be published now is kept and published before the next one (or with the next list);
   * a process that dies first leaves it to the age reload.
   */
  async changed(row: KeyRow): Promise<void> {
    const { communityId } = row;
    const pending = this.unpublished.get(communityId) ?? new Map<string, KeyRow>();
    if (pending !== 'all') pending.set(row._id.toHexString(), withoutSecrets(row));
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

  private usageKey(): string {
    return `${this.opts.namespace}:keydir:usage`;
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
        for (const [id, row] of [...ids]) {
          await viaRedis(() => this.redis.eval(PUBLISH, 2, k.seq, k.log, this.logLength, EJSON.stringify(row)));
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
    // Usage published from here on is read from the log; what came before, from the collection.
    if (this.usageFrom === undefined) {
      const last = (await viaRedis(() => this.redis.xrevrange(this.usageKey(), '+', '-', 'COUNT', 1)))[0];
      this.usageFrom ??= last ? last[0] : '0-0';
    }
    const loadedAt = this.clock.now();
    const docs = await this.m.apiKeys.find({ communityId }, { tokenHash: 0, previousTokenHash: 0, retiredTokenHashes: 0 }).lean<KeyRow[]>();
    if (docs.length > this.maxKeys) {
      this.tooBig.set(communityId, loadedAt + this.maxAgeMs);
      this.log.warn({ communityId, keys: docs.length, max: this.maxKeys }, 'key directory: community too large to hold; its lists read the database');
      return undefined;
    }
    const entries = docs.map(entryOf).sort(byPosition);
    const byKeyId = new Map(entries.map((e) => [e.row.keyId, e]));
    // The usage collection has no community: all of it is read (each document is three fields).
    for (const u of await this.m.keyUsage.find({}, { keyId: 1, lastUsedAt: 1 }).lean()) {
      const e = byKeyId.get(u.keyId);
      if (e && u.lastUsedAt) e.lastUsedAt = Math.max(e.lastUsedAt ?? 0, u.lastUsedAt.getTime());
    }
    return { communityId, entries, byKeyId, gen, seq, loadedAt };
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
        Object.assign(c, { entries: fresh.entries, byKeyId: fresh.byKeyId, gen: fresh.gen, seq: fresh.seq, loadedAt: fresh.loadedAt });
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
    // The usage log beside the community's log (another Redis Cluster slot: not in the MULTI),
    // sent after it on the same connection: a key's use is never read before its creation.
    const [exec, usage] = await Promise.all([
      viaRedis(() =>
        this.redis
          .multi()
          .get(k.gen)
          .get(k.seq)
          .xrange(k.log, `${from + 1}-0`, '+', 'COUNT', MAX_REPLAY)
          .exec(),
      ),
      this.readUsage(),
    ]);
    const res = results(exec);
    try {
      return await this.applyLog(c, res, from);
    } finally {
      this.applyUsage(usage);
    }
  }

  /** Applies what a catch-up read of the community's log after `from` returned. */
  private async applyLog(c: Community, res: unknown[], from: number): Promise<void> {
    const gen = res[0] as string | null;
    const seq = Number(res[1] ?? 0);
    const log = res[2] as Array<[string, string[]]>;
    if (gen !== c.gen || seq < from) return this.reload(c); // the log was lost (flushed, restarted empty)
    if (seq === from) return;
    const first = log[0] ? Number(log[0][0].split('-')[0]) : undefined;
    if (first !== from + 1 || seq - from > MAX_REPLAY) return this.reload(c); // trimmed past us, or far behind
    for (const [, fields] of log) this.put(c, EJSON.parse(fields[fields.indexOf('doc') + 1]!) as KeyRow);
    c.seq = Math.max(c.seq, Number(log[log.length - 1]![0].split('-')[0]));
  }

  /** Puts a key's document as a writer published it into the directory. */
  private put(c: Community, d: KeyRow): void {
    if (d.communityId !== c.communityId) return;
    const fresh = entryOf(d);
    const i = indexOf(c.entries, fresh);
    if (i < 0) c.entries.splice(firstAfter(c.entries, fresh), 0, fresh);
    else {
      const old = c.entries[i]!;
      // A revocation is never undone: an entry published before it but read after it is old.
      if (old.row.status === 'revoked' && d.status === 'active') return;
      fresh.lastUsedAt = old.lastUsedAt;
      c.entries[i] = fresh;
    }
    c.byKeyId.set(d.keyId, fresh);
  }

  /** The usage log's entries not read yet. */
  private async readUsage(): Promise<Array<[string, string[]]>> {
    const from = this.usageFrom;
    if (from === undefined) return [];
    return viaRedis(() => this.redis.xrange(this.usageKey(), `(${from}`, '+', 'COUNT', USAGE_REPLAY));
  }

  /** Applies usage log entries to every community held (the latest use wins). */
  private applyUsage(log: Array<[string, string[]]>): void {
    for (const [, fields] of log) {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const at = Number(fields[i + 1]);
        for (const c of this.communities.values()) {
          const e = c.byKeyId.get(fields[i]!);
          if (e && !(e.lastUsedAt! >= at)) e.lastUsedAt = at;
        }
      }
    }
    const last = log[log.length - 1]?.[0];
    if (last && (this.usageFrom === undefined || streamIdAfter(last, this.usageFrom))) this.usageFrom = last;
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
  const redis = failFastRedis(url, 'keywarden-key-directory');
  let lastErrorLog = Number.NEGATIVE_INFINITY;
  redis.on('error', (e: Error) => {
    // Reconnect errors repeat while Redis is down: one line per minute.
    if (Date.now() - lastErrorLog < 60_000) return;
    lastErrorLog = Date.now();
    log.debug({ err: e.message }, 'key directory: Redis connection error');
  });
  return redis;
}
