import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startVerifyApp, type VerifyApp } from '../support/verify-app.js';

/** Counts the MongoDB reads of api_keys made through the app's own connection. */
function countKeyReads(app: VerifyApp): () => number {
  let reads = 0;
  app.mongo.conn.getClient().on('commandStarted', (e: CommandStartedEvent) => {
    if (e.commandName === 'find' && (e.command as { find?: string }).find === 'api_keys') reads++;
  });
  return () => reads;
}

describe('the verification cache under load', () => {
  let app: VerifyApp;
  let reads: () => number;
  beforeAll(async () => {
    app = await startVerifyApp({ VERIFY_CACHE_TTL_MS: '1500' }, {}, { monitorCommands: 'true' });
    reads = countKeyReads(app);
  });
  afterAll(() => app.close());

  it('50 concurrent checks of a key that is not cached make one MongoDB read, and all say valid', async () => {
    // On a loaded machine 50 requests can trickle in over more than a second. A request
    // shares a read in flight only if the read began less than the revocation lease before
    // it arrived, and a hit after 80% of the TTL re-reads: an app of its own with a wide
    // lease and a long TTL makes "one read" a check of sharing and caching, not of speed.
    // Nothing revokes here, so the lease's other role is not at stake (the last test has it).
    const own = await startVerifyApp({ VERIFY_CACHE_TTL_MS: '60000' }, { leaseMs: 10_000 }, { monitorCommands: 'true' });
    try {
      const ownReads = countKeyReads(own);
      const { keyId, token } = await own.createKey();
      const before = ownReads();
      const answers = await Promise.all(Array.from({ length: 50 }, () => own.verify({ key: token }).then(json)));
      expect(answers).toEqual(Array(50).fill(expect.objectContaining({ valid: true, keyId })));
      expect(ownReads() - before).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('concurrent checks of an unknown token make one read too', async () => {
    const { token } = await app.createKey();
    const unknown = token.slice(0, 3) + 'Z'.repeat(30);
    // A well-formed token that was never issued: take a real one and re-derive the checksum.
    const { checksum } = await import('../../src/keys/token.js');
    const forged = unknown + checksum(unknown);
    // What one check of an unknown token reads of the keys: finding no ref for its hash
    // (key_refs, by _id), one find for any key holding it as a current, previous or retired
    // secret (a key written without refs), read here through the domain, not the verifier's cache.
    const single = reads();
    await app.core.keys.verify(forged);
    const perCheck = reads() - single;
    expect(perCheck).toBe(1);
    const before = reads();
    // Straight to the verifier: twenty calls in one tick, all before the read returns.
    const answers = await Promise.all(Array.from({ length: 20 }, () => app.verifier.verify(forged)));
    expect(answers.map((a) => a.body)).toEqual(Array(20).fill({ valid: false, reason: 'unknown' }));
    expect(reads() - before).toBe(perCheck);
  });

  it('a key in steady use is re-read before its entry expires: its callers never wait for MongoDB', async () => {
    const { token } = await app.createKey();
    expect((await app.verifier.verify(token)).source).toBe('store');
    const before = reads();
    const sources = new Set<string>();
    // Three times the cache TTL, a check every 50 ms.
    for (let t = 0; t < 4_500; t += 50) {
      sources.add((await app.verifier.verify(token)).source);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...sources]).toEqual(['cache']);
    expect(reads() - before).toBeGreaterThanOrEqual(2);
  });

  it('a revoke during a read in flight is honoured: no check that starts after the revoke returned says valid', async () => {
    for (let round = 0; round < 10; round++) {
      const { keyId, token } = await app.createKey();
      const early = Array.from({ length: 10 }, () => app.verify({ key: token }).then(json));
      await app.core.keys.revoke({ communityId: 'T0TEST', userId: 'UADMIN1' }, keyId);
      const late = await Promise.all(Array.from({ length: 10 }, () => app.verify({ key: token }).then(json)));
      expect(late).toEqual(Array(10).fill({ valid: false, reason: 'revoked' }));
      await Promise.all(early);
    }
  });
});
