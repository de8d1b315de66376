import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIds } from '../../src/slack/ids.js';
import { freePort } from '../support/ports.js';
import { ADMIN, TEAM, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

// A bot whose Redis cannot be reached: the revoke works, and the admin is told exactly how
// much of it holds (not "It no longer works" while other bots may still accept the key).
const admin = { communityId: TEAM, userId: ADMIN };
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('revoketruth', {}, undefined, { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, VERIFY_CACHE_TTL_MS: '45000' });
});
afterAll(() => h?.close());

describe('revoking through a bot that cannot reach Redis', () => {
  it('revokes, and says other servers may accept the key for up to VERIFY_CACHE_TTL_MS more', async () => {
    const { key } = await h.core.keys.create(admin, { name: 'Split brain', description: 'Revoked without Redis', roles: ['ic_viewer'] });
    await h.command(ADMIN, `revoke ${key.keyId}`);
    const click = async () => {
      const url = h.fake.responseUrl();
      await h.click({ userId: ADMIN, actionId: actionIds.revokeKey, value: key.keyId, container: { type: 'message' }, responseUrl: url });
      return h.fake.waitFor('respond', (c) => c.url === url, 10_000);
    };
    const done = await click();
    expect((await h.core.keys.show(admin, key.keyId)).status).toBe('revoked');
    const said = textOf(done.args);
    expect(said).toContain('Revoked');
    expect(said).toContain('Other servers may accept it for up to 45 s more: their caches could not be told (retrying).');
    expect(said).not.toContain('no longer works');
    expect(done.args.text).toBe(`Revoked ${key.keyId}; other servers may accept it for up to 45 s more`);

    const again = await click();
    expect(textOf(again.args)).toContain('already revoked');
    expect(textOf(again.args)).toContain('Other servers may accept it for up to 45 s more');
  });
});
