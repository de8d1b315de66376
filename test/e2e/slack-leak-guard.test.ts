import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.js';
import { FAKE_BOT_ID, FAKE_BOT_USER_ID } from '../support/fake-slack.js';
import { ADMIN, TEAM, startSlackHarness, type SlackHarness } from './slack-harness.js';

const CHANNEL = 'C0LEAKS';
const POSTER = 'UPOSTER1';
const admin = { communityId: TEAM, userId: ADMIN };
let seq = 0;
const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;

/** A signed-as-Slack Events API envelope around a message event (or an edit of one). */
function messageEvent(opts: { text: string; user?: string; botId?: string; edit?: boolean }): string {
  const posted = { type: 'message', text: opts.text, user: opts.user ?? POSTER, ts: ts(), ...(opts.botId ? { bot_id: opts.botId } : {}) };
  const event = opts.edit
    ? {
        type: 'message',
        subtype: 'message_changed',
        channel: CHANNEL,
        hidden: true,
        message: { ...posted, edited: { user: posted.user, ts: ts() } },
        previous_message: { ...posted, text: 'before the edit' },
        ts: ts(),
        event_ts: ts(),
      }
    : { ...posted, channel: CHANNEL, channel_type: 'channel', event_ts: posted.ts };
  return JSON.stringify({
    token: 'fake-verification-token',
    team_id: TEAM,
    api_app_id: 'A0TEST',
    event,
    type: 'event_callback',
    event_id: `Ev${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: TEAM, user_id: FAKE_BOT_USER_ID, is_bot: true, is_enterprise_install: false }],
  });
}

describe('the Slack leak guard (LEAK_GUARD=true)', () => {
  let h: SlackHarness;
  const ops: string[] = [];
  beforeAll(async () => {
    h = await startSlackHarness('leakguard', {}, undefined, { LEAK_GUARD: 'true' });
    h.core.mongo.conn.set('debug', (collection: string, method: string) => void ops.push(`${collection}.${method}`));
  });
  afterAll(async () => {
    await h?.close();
  });

  const newKey = async (name: string) => h.core.keys.create(admin, { name, description: 'Used by the nightly enrichment job', roles: ['ic_viewer'] });

  it.each([
    ['in plain text', (t: string) => ({ text: `here you go: ${t} (prod)` })],
    ['in a code block', (t: string) => ({ text: `config:\n\`\`\`\nKEYWARDEN_KEY=${t}\n\`\`\`` })],
    ['in an edit of a message', (t: string) => ({ text: `oops, meant to paste ${t}`, edit: true })],
  ])('a live key %s is revoked as leaked while the event is handled; the poster is warned without the token', async (_where, body) => {
    const { key, token } = await newKey(`Enricher <${seq}>`);
    h.fake.reset();
    const res = await h.send(messageEvent(body(token)));
    expect(res.status).toBe(200);
    const warning = await h.fake.waitFor('chat.postEphemeral', (c) => c.args.user === POSTER);
    expect(warning.args.channel).toBe(CHANNEL);
    expect(String(warning.args.text)).toContain('revoked it at once');
    expect(String(warning.args.text)).toContain(key.keyId);
    expect(String(warning.args.text)).toContain('&lt;'); // the key's name, escaped
    expect(JSON.stringify(warning.args)).not.toContain(token);
    const after = await h.core.keyRepo.findByKeyId(key.keyId);
    expect(after).toMatchObject({ status: 'revoked', revokedBy: 'slack-leak-guard', reason: 'leaked', leak: { source: 'slack', channel: CHANNEL } });
    expect(after?.leak?.ts).toMatch(/^\d+\.\d{6}$/);
    expect(await h.core.keys.verify(token)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it("a revoked key's or an unknown token: only the warning, nothing changes", async () => {
    const { key, token } = await newKey('Already gone');
    await h.core.keys.revoke(admin, key.keyId, { reason: 'replaced' });
    h.fake.reset();
    await h.send(messageEvent({ text: `${token} and ${generateToken('kw')}` }));
    const warning = await h.fake.waitFor('chat.postEphemeral', (c) => c.args.user === POSTER);
    expect(String(warning.args.text)).toContain('not active, so nothing was revoked');
    expect(String(warning.args.text)).not.toContain('revoked it at once');
    expect(await h.core.keyRepo.findByKeyId(key.keyId)).toMatchObject({ revokedBy: ADMIN, reason: 'replaced' });
  });

  it("messages without a token, a typo of one, and the bot's own messages are ignored without a database read", async () => {
    const { key, token } = await newKey('Bot-posted');
    const typo = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    h.fake.reset();
    ops.length = 0;
    for (const text of ['deploying now, see kw_ docs', `typo: ${typo}`]) expect((await h.send(messageEvent({ text }))).status).toBe(200);
    expect((await h.send(messageEvent({ text: token, user: FAKE_BOT_USER_ID, botId: FAKE_BOT_ID }))).status).toBe(200);
    expect((await h.send(messageEvent({ text: token, user: FAKE_BOT_USER_ID, botId: FAKE_BOT_ID, edit: true }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(ops).toEqual([]);
    expect(h.fake.callsOf('chat.postEphemeral')).toHaveLength(0);
    expect((await h.core.keyRepo.findByKeyId(key.keyId))?.status).toBe('active');
  });

  it('no token appears in any log line', () => {
    expect(h.logs.text()).toContain('leak guard: a key was posted in Slack');
    expect(h.logs.text()).not.toMatch(/kw_[0-9A-Za-z]{36}/);
  });
});

describe('the leak guard off (default)', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness('leakguardoff');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a live key pasted in a message: nothing happens', async () => {
    const { key, token } = await h.core.keys.create(admin, { name: 'Stays', description: 'Nobody is watching the channel', roles: ['ic_viewer'] });
    expect((await h.send(messageEvent({ text: token }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.callsOf('chat.postEphemeral')).toHaveLength(0);
    expect((await h.core.keyRepo.findByKeyId(key.keyId))?.status).toBe('active');
  });
});
