import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminTokenPrefix } from '../../src/admin-tokens/admin-token-service.js';
import { checkToken } from '../../src/keys/token.js';
import { ADMIN, TEAM, VIEWER, addViewer, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('slackadmtok');
  await addViewer(h.core);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

const TOKEN = /kwadm_[0-9A-Za-z]{36}/;

describe('/apikey admin-token', () => {
  it('create: the token once, by DM ephemeral, never in the reply; hashed at rest; it authenticates with its scopes', async () => {
    const { reply } = await h.command(ADMIN, 'admin-token create soar-prod keys:read keys:revoke');
    expect(textOf(reply.args)).toMatch(/Created admin token `soar-prod`/);
    expect(textOf(reply.args)).not.toMatch(TOKEN);
    const dms = h.fake.callsOf('chat.postEphemeral');
    expect(dms).toHaveLength(1);
    const secret = TOKEN.exec(textOf(dms[0]!.args.blocks))![0];
    expect(checkToken(secret, adminTokenPrefix('kw')).ok).toBe(true);
    expect(textOf(dms[0]!.args.text)).not.toContain(secret);
    expect(h.fake.callsOf('chat.postMessage')).toHaveLength(0);
    expect(await h.dbDump()).not.toContain(secret);
    expect(textOf(h.logs.lines)).not.toContain(secret);
    const auth = await h.core.adminTokens.authenticate(secret);
    expect(auth?.actor).toMatchObject({ communityId: TEAM, userId: 'token:soar-prod' });
    expect(auth?.token.scopes).toEqual(['keys:read', 'keys:revoke']);
  });

  it('a taken name is refused and nothing is created', async () => {
    const before = (await h.core.adminTokens.list({ communityId: TEAM, userId: ADMIN })).length;
    const { reply } = await h.command(ADMIN, 'admin-token create soar-prod audit:read');
    expect(textOf(reply.args)).toMatch(/already an admin token named/);
    expect(await h.core.adminTokens.list({ communityId: TEAM, userId: ADMIN })).toHaveLength(before);
  });

  it('list shows names, ids and scopes, never a secret; revoke ends the token (401 from then on) and says so twice', async () => {
    await h.command(ADMIN, 'admin-token create vault-sync keys:write');
    const secret = TOKEN.exec(textOf(h.fake.callsOf('chat.postEphemeral')[0]!.args.blocks))![0];
    const { reply } = await h.command(ADMIN, 'admin-token list');
    expect(textOf(reply.args)).toMatch(/vault-sync/);
    expect(textOf(reply.args)).toMatch(/keys:write/);
    expect(textOf(reply.args)).not.toMatch(TOKEN);
    const tokenId = (await h.core.adminTokens.authenticate(secret))!.token.tokenId;
    const revoked = await h.command(ADMIN, `admin-token revoke ${tokenId}`);
    expect(textOf(revoked.reply.args)).toMatch(/Revoked admin token `vault-sync`/);
    expect(await h.core.adminTokens.authenticate(secret)).toBeUndefined();
    const again = await h.command(ADMIN, `admin-token revoke ${tokenId}`);
    expect(textOf(again.reply.args)).toMatch(/already revoked/);
    const audit = await h.core.audit.forTarget(TEAM, tokenId);
    expect(audit.map((e) => e.action)).toEqual(['admin_token.created', 'admin_token.revoked']);
  });

  it.each(['admin-token create x keys:read', 'admin-token list', 'admin-token revoke at_000000000000'])('a viewer is refused: %s', async (text) => {
    const before = await h.core.mongo.models.adminTokens.countDocuments();
    const { reply } = await h.command(VIEWER, text);
    expect(textOf(reply.args)).toMatch(/Only Keywarden admins/);
    expect(h.fake.callsOf('chat.postEphemeral')).toHaveLength(0);
    expect(await h.core.mongo.models.adminTokens.countDocuments()).toBe(before);
  });

  it('a bad scope is a usage answer', async () => {
    const { reply } = await h.command(ADMIN, 'admin-token create x keys:delete');
    expect(textOf(reply.args)).toMatch(/Unknown scope `keys:delete`/);
    expect(textOf(reply.args)).toContain('/apikey admin-token');
  });
});
