import { describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../../src/keys/key-record.js';
import { outcomeOf, VerificationCache } from '../../../src/http/verification-cache.js';

// The cache's lifetime (VERIFY_CACHE_TTL_MS) is kept on each entry and checked against the
// hit's arrival time, not by lru-cache's own timer: these tests pass the times explicitly.
const TTL = 1_000;
const key = { keyId: 'ak_1', name: 'n', roles: ['reader'], communityId: 'T1' } as unknown as KeyRecord;
const valid = outcomeOf({ valid: true, keyId: 'ak_1', name: 'n', roles: ['reader'], communityId: 'T1' }, 'store');

function cached() {
  const cache = new VerificationCache({ max: 10, negativeMax: 10, ttlMs: TTL });
  cache.remember('h-valid', { valid: true, key }, valid, { revision: cache.revision, epoch: 'e1', startedAt: 100, now: 100 });
  const unknown = outcomeOf({ valid: false, reason: 'unknown' }, 'store');
  cache.remember('h-unknown', { valid: false, reason: 'unknown' }, unknown, { revision: cache.revision, epoch: undefined, startedAt: 100, now: 100 });
  return cache;
}

describe('VerificationCache lifetime', () => {
  it('serves a valid entry until its lifetime ends, then drops it', () => {
    const cache = cached();
    expect(cache.lookup('h-valid', 100 + TTL - 1)?.hit.body).toMatchObject({ valid: true, keyId: 'ak_1' });
    expect(cache.lookup('h-valid', 100 + TTL)).toBeUndefined();
    // Dropped, not just hidden: an earlier arrival does not bring it back.
    expect(cache.lookup('h-valid', 100)).toBeUndefined();
  });

  it('serves a negative entry until its lifetime ends, then drops it', () => {
    const cache = cached();
    expect(cache.lookup('h-unknown', 100 + TTL - 1)?.hit.body).toEqual({ valid: false, reason: 'unknown' });
    expect(cache.lookup('h-unknown', 100 + TTL)).toBeUndefined();
    expect(cache.lookup('h-unknown', 100)).toBeUndefined();
  });

  it('an entry whose read took part of the lifetime lives only for the rest', () => {
    const cache = new VerificationCache({ max: 10, negativeMax: 0, ttlMs: TTL });
    cache.remember('h', { valid: true, key }, valid, { revision: cache.revision, epoch: 'e1', startedAt: 0, now: 400 });
    expect(cache.lookup('h', 999)).toBeDefined();
    expect(cache.lookup('h', 1_000)).toBeUndefined();
  });
});
