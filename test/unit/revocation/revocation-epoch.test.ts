import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevocationEpoch } from '../../../src/revocation/revocation-epoch.js';
import { FakeClock } from '../../support/fake-clock.js';
import { freePort } from '../../support/ports.js';
import { redisUrl } from '../../support/services.js';

// The epoch's logic on a fake clock, against the real Redis: time moves only when the test
// says so, so every lease boundary is checked exactly.
const L = 50;
const MARGIN = 5;
let redis: Redis;
let dead: Redis;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = new Redis(redisUrl(), { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // A Redis that is not there: nothing listens on the port, commands fail at once.
  dead = new Redis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  dead.on('error', () => undefined);
  connections.push(redis, dead);
  await new Promise((r) => redis.once('ready', r));
});

afterAll(async () => {
  for (const c of connections) c.disconnect();
});

const names = () => {
  const id = randomUUID();
  return { key: `test-epoch-${id}`, channel: `test-epoch-${id}:revoked` };
};
const epochOn = (conn: Redis, clock: FakeClock, n = names(), onError?: (e: Error, doing: string) => void) =>
  new RevocationEpoch(conn, n.key, n.channel, L, MARGIN, onError, clock);

describe('RevocationEpoch', () => {
  it('serves a value read less than the lease before the arrival, and not at the lease', async () => {
    const clock = new FakeClock();
    const n = names();
    const epoch = epochOn(redis, clock, n);
    const t0 = clock.now();
    expect(epoch.peek(t0)).toBeUndefined(); // never read
    const v = await epoch.fresh(t0);
    expect(v).toBe(await redis.get(n.key)); // a missing key was seeded
    expect(epoch.peek(t0 + L - 1)).toBe(v);
    expect(epoch.peek(t0 + L)).toBeUndefined();
    expect(epoch.known).toBe(v); // still what a MongoDB read about to start is stamped with
  });

  it('after half the lease a peek refreshes in the background, so a busy process never waits', async () => {
    const clock = new FakeClock();
    const epoch = epochOn(redis, clock);
    const v = await epoch.fresh(clock.now());
    clock.advance(L / 2 - 1);
    expect(epoch.peek(clock.now())).toBe(v); // no refresh yet...
    clock.advance(1);
    const sentAt = clock.now();
    expect(epoch.peek(sentAt)).toBe(v); // ...now one starts, and the old read still serves
    // Once the refresh is answered: fresh until a lease after it was sent, not after the first read.
    await expect.poll(() => epoch.peek(sentAt + L - 1)).toBe(v);
    expect(epoch.peek(sentAt + L)).toBeUndefined();
  });

  it('a bump replaces the epoch with a new random value, publishes the keyId, and returns only after lease + margin', async () => {
    const clock = new FakeClock();
    const n = names();
    const epoch = epochOn(redis, clock, n);
    const before = await epoch.fresh(clock.now());
    const sub = new Redis(redisUrl());
    connections.push(sub);
    const messages: string[] = [];
    sub.on('message', (_c: string, m: string) => messages.push(m));
    await sub.subscribe(n.channel);

    let returned = false;
    const bump = epoch.bump('ak_0123456789ab').then(() => {
      returned = true;
    });
    await clock.sleeping();
    expect(clock.sleeps).toEqual([L + MARGIN]);
    const after = await redis.get(n.key);
    expect(after).not.toBe(before);
    expect(after).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => messages).toEqual([JSON.stringify({ keyId: 'ak_0123456789ab' })]);
    clock.advance(L + MARGIN - 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(returned).toBe(false);
    clock.advance(1);
    await bump;
    expect(returned).toBe(true);
  });

  it('once a bump returned, another replica serves no value it read before it: the stamps stop matching', async () => {
    const clock = new FakeClock();
    const n = names();
    const replica = epochOn(redis, clock, n);
    const announcer = epochOn(redis, clock, n);
    const stamp = await replica.fresh(clock.now()); // a cached `valid` is stamped with this
    const bump = announcer.bump('ak_0123456789ab');
    await clock.sleeping();
    clock.advance(L + MARGIN);
    await bump;
    const arrival = clock.now(); // a check that starts after the revoke returned
    expect(replica.peek(arrival)).toBeUndefined(); // the replica's read has aged out...
    const now = await replica.fresh(arrival); // ...so it reads again
    expect(now).toBeDefined();
    expect(now).not.toBe(stamp);
  });

  it('ignores the reply to a read sent before invalidate()', async () => {
    const clock = new FakeClock();
    const epoch = epochOn(redis, clock);
    const first = await epoch.fresh(clock.now());
    clock.advance(L);
    epoch.peek(clock.now()); // a refresh is sent...
    epoch.invalidate(); // ...and a revocation starts here before it is answered
    await new Promise((r) => setTimeout(r, 50)); // the GET's reply arrives meanwhile
    expect(epoch.peek(clock.now())).toBeUndefined();
    expect(epoch.known).toBe(first);
  });

  it('a wiped epoch is seeded with a new random value, never an old one (no ABA)', async () => {
    const clock = new FakeClock();
    const n = names();
    const epoch = epochOn(redis, clock, n);
    const v1 = await epoch.fresh(clock.now());
    await redis.del(n.key); // Redis restarted without its data
    clock.advance(L);
    const v2 = await epoch.fresh(clock.now());
    expect(v2).toBeDefined();
    expect(v2).not.toBe(v1);
    expect(await redis.get(n.key)).toBe(v2);
  });

  it('without Redis: no value is served (no cached valid), and a bump fails after 4 tries 100, 200, 400 ms apart', async () => {
    const clock = new FakeClock();
    const errors: string[] = [];
    const epoch = epochOn(dead, clock, names(), (_e, doing) => errors.push(doing));
    expect(await epoch.fresh(clock.now())).toBeUndefined();
    expect(errors).toContain('read the revocation epoch');

    let failure: Error | undefined;
    const bump = epoch.bump('ak_0123456789ab').catch((e: Error) => {
      failure = e;
    });
    for (const wait of [100, 200, 400]) {
      await clock.sleeping();
      expect(clock.sleeps).toEqual([wait]);
      clock.advance(wait);
    }
    await bump;
    expect(failure?.message).toMatch(/^could not announce the revocation on Redis/);
  });
});
