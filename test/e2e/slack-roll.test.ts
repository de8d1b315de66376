import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderReminder } from '../../jobs/reminder.js';
import { DAY_MS } from '../../src/keys/key-life.js';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { OffsetClock } from '../../src/util/clock.js';
import { staticSelect } from '../support/slack-requests.js';
import { ADMIN, VIEWER, actionIdsIn, addViewer, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
const admin = { communityId: 'T0TEST', userId: ADMIN };
const clock = new OffsetClock();
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('slackroll', {}, clock);
  await addViewer(h.core);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

const newKey = (name: string) => h.core.keys.create(admin, { name, description: 'Rolled from Slack in tests', roles: ['ic_viewer'], expiresInDays: 90 });
const submitRoll = (userId: string, keyId: string, overlap: string | null, viewId = `VROLL${Math.random().toString(36).slice(2, 8).toUpperCase()}`) =>
  h.submit({
    userId,
    callbackId: callbackIds.rollKey,
    viewId,
    privateMetadata: JSON.stringify({ k: keyId }),
    values: { [blockIds.rollOverlap]: { [actionIds.rollOverlapInput]: staticSelect(overlap) } },
  });
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

describe('/apikey roll <keyId>', () => {
  it('opens "Keep the old secret working for" (24 hours by default); Roll gives a new secret once by DM, same keyId, both valid for 24 hours', async () => {
    const { key, token: old } = await newKey('Rolled by command');
    const { triggerId } = await h.commandOnly(ADMIN, `roll ${key.keyId}`);
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === triggerId);
    const modal = open.args.view as { callback_id: string; private_metadata: string; blocks: any[] };
    expect(modal.callback_id).toBe(callbackIds.rollKey);
    const select = modal.blocks.find((b) => b.block_id === blockIds.rollOverlap);
    expect(select.label.text).toBe('Keep the old secret working for');
    expect(select.element.options.map((o: any) => o.text.text)).toEqual(['Not at all', '1 hour', '24 hours', '7 days']);
    expect(select.element.initial_option.value).toBe('24h');

    const res = await submitRoll(ADMIN, key.keyId, '24h', 'VROLLCMD');
    expect((res.json as { response_action: string }).response_action).toBe('update');
    expect(textOf(res.json)).not.toMatch(TOKEN_RE);
    const dm = await h.fake.waitFor('chat.postEphemeral');
    const fresh = TOKEN_RE.exec(textOf(dm.args.blocks))![0];
    expect(fresh).not.toBe(old);
    expect(textOf(dm.args.blocks)).toContain(key.keyId);
    const done = await h.fake.waitFor('views.update', (c) => c.args.view_id === 'VROLLCMD' && /Rolled/.test(textOf(c.args.view)));
    expect(textOf(done.args.view)).toMatch(/keeps working until/);
    expect(textOf(done.args.view)).not.toMatch(TOKEN_RE);

    expect(await h.core.keys.verify(old)).toMatchObject({ valid: true, key: { keyId: key.keyId } });
    expect(await h.core.keys.verify(fresh)).toMatchObject({ valid: true, key: { keyId: key.keyId } });
    const show = await h.command(ADMIN, `show ${key.keyId}`);
    expect(textOf(show.reply.args.blocks)).toContain('Previous secret valid until');
    const audit = await h.core.mongo.models.auditEvents.find({ target: key.keyId, action: 'key.rolled' }).lean();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ overlap: '24h' });
    // The secret went only to the ephemeral DM: never a message, a log line or the database.
    expect(h.fake.callsOf('chat.postMessage')).toEqual([]);
    expect(h.logs.text()).not.toContain(fresh);
    expect(await h.dbDump()).not.toContain(fresh);

    clock.advance(DAY_MS);
    expect(await h.core.keys.verify(old)).toEqual({ valid: false, reason: 'rolled', keyId: key.keyId });
    expect((await h.core.keys.verify(fresh)).valid).toBe(true);
    clock.offsetMs = 0;
  });

  it('when the DM cannot be delivered, the modal shows the new secret instead', async () => {
    const { key } = await newKey('Rolled, DM down');
    h.fake.failNext('chat.postEphemeral', 'channel_not_found');
    await submitRoll(ADMIN, key.keyId, 'none', 'VROLLFALL');
    const update = await h.fake.waitFor('views.update', (c) => c.args.view_id === 'VROLLFALL' && TOKEN_RE.test(textOf(c.args.view)));
    const token = TOKEN_RE.exec(textOf(update.args.view))![0];
    expect(await h.core.keys.verify(token)).toMatchObject({ valid: true });
  });
});

describe('Roll in the key modal and Roll now in a reminder (admins)', () => {
  it('the key modal has Roll; clicking it pushes the roll modal', async () => {
    const { key } = await newKey('Rolled from the modal');
    await h.click({
      userId: ADMIN,
      actionId: actionIds.editKey,
      value: key.keyId,
      triggerId: 'trig.roll.edit',
      container: { type: 'message' },
      responseUrl: h.fake.responseUrl(),
    });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.roll.edit');
    expect(actionIdsIn(open.args.view)).toContain(actionIds.rollKey);
    await h.click({
      userId: ADMIN,
      actionId: actionIds.rollKey,
      value: key.keyId,
      triggerId: 'trig.roll.push',
      container: { type: 'view', view_id: 'VKEYMODAL' },
      view: { type: 'modal', callback_id: callbackIds.keyDetails, private_metadata: JSON.stringify({ k: key.keyId }) },
    });
    const push = await h.fake.waitFor('views.push', (c) => c.args.trigger_id === 'trig.roll.push');
    expect((push.args.view as { callback_id: string }).callback_id).toBe(callbackIds.rollKey);
  });

  it('Roll now from a reminder opens the same modal, and rolling works the same', async () => {
    const { key, token: old } = await newKey('Rolled from a reminder');
    const reminder = renderReminder(key, '7d', clock.now());
    const button = (reminder.blocks as any[]).flatMap((b) => b.elements ?? []).find((e: any) => e.action_id === actionIds.rollKey);
    expect(button.text.text).toBe('Roll now');
    await h.click({
      userId: ADMIN,
      actionId: button.action_id,
      value: button.value,
      triggerId: 'trig.roll.now',
      container: { type: 'message', is_ephemeral: false },
      responseUrl: h.fake.responseUrl(),
    });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.roll.now');
    expect((open.args.view as { callback_id: string }).callback_id).toBe(callbackIds.rollKey);
    await submitRoll(ADMIN, key.keyId, 'none');
    await h.fake.waitFor('chat.postEphemeral');
    expect(await h.core.keys.verify(old)).toEqual({ valid: false, reason: 'rolled', keyId: key.keyId });
  });
});

describe('only admins roll, checked on the server', () => {
  it('a viewer clicking Roll (forged) is told why, and nothing opens', async () => {
    const { key } = await newKey('Not for viewers');
    await h.click({
      userId: VIEWER,
      actionId: actionIds.rollKey,
      value: key.keyId,
      triggerId: 'trig.roll.viewer',
      container: { type: 'message' },
      responseUrl: h.fake.responseUrl(),
    });
    const told = await h.fake.waitFor('respond');
    expect(textOf(told.args)).toMatch(/admin/i);
    await settle();
    expect(h.fake.callsOf('views.open')).toEqual([]);
  });

  it('a viewer submitting the roll modal (forged) gets an inline error and nothing is rolled', async () => {
    const { key, token } = await newKey('Forged roll');
    const res = await submitRoll(VIEWER, key.keyId, 'none');
    const ack = res.json as { response_action: string; errors: Record<string, string> };
    expect(ack.response_action).toBe('errors');
    expect(ack.errors[blockIds.rollOverlap]).toMatch(/admin/i);
    expect((await h.core.keys.verify(token)).valid).toBe(true);
    expect(await h.core.mongo.models.auditEvents.countDocuments({ target: key.keyId, action: 'key.rolled' })).toBe(0);
  });

  it('a revoked key cannot be rolled: said inline', async () => {
    const { key } = await newKey('Revoked, then rolled');
    await h.core.keys.revoke(admin, key.keyId);
    const res = await submitRoll(ADMIN, key.keyId, '24h');
    expect((res.json as { errors: Record<string, string> }).errors[blockIds.rollOverlap]).toMatch(/revoked: only an active key can be rolled/);
  });
});
