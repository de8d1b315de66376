import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import type { FakeSlackCall } from '../support/fake-slack.js';
import { multiSelect, nowSeconds, slashCommand, textInput } from '../support/slack-requests.js';
import { ADMIN, STRANGER, VIEWER, actionIdsIn, addViewer, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

let h: SlackHarness;
let keyId = '';

beforeAll(async () => {
  h = await startSlackHarness('slacksec');
  await addViewer(h.core);
  const { key } = await h.core.keys.create(
    { communityId: 'T0TEST', userId: ADMIN },
    { name: 'Prod SOAR', description: 'Runs the production playbooks', roles: ['ic_viewer'] },
  );
  keyId = key.keyId;
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

const settle = () => new Promise((r) => setTimeout(r, 250));

describe('requests not signed by Slack are refused before anything happens', () => {
  it.each([
    ['a bad signature', { signature: 'v0=' + '0'.repeat(64) }],
    ['a stale timestamp (6 minutes old)', { timestamp: nowSeconds() - 360 }],
  ])('%s → 401, no Slack call, no database change', async (_name, opts) => {
    const before = await h.dbDump();
    const responseUrl = h.fake.responseUrl();
    const res = await h.send(slashCommand({ text: `revoke ${keyId}`, userId: ADMIN, responseUrl }), opts);
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    await settle();
    expect(h.fake.calls).toEqual([]);
    expect(await h.dbDump()).toBe(before);
  });

  it('a body changed after signing → 401', async () => {
    const body = slashCommand({ text: 'list', userId: VIEWER, responseUrl: h.fake.responseUrl() });
    const res = await h.send(body.replace('list', 'revoke'), { signature: (await import('../support/slack-requests.js')).sign(h.secret, nowSeconds(), body) });
    expect(res.status).toBe(401);
  });

  it('a signed revoke button whose timestamp is stale → 401 and the key stays active', async () => {
    const { blockAction } = await import('../support/slack-requests.js');
    const res = await h.send(
      blockAction({ userId: ADMIN, actionId: actionIds.revokeKey, value: keyId, container: { type: 'message' }, responseUrl: h.fake.responseUrl() }),
      { timestamp: nowSeconds() - 301 - 60 },
    );
    expect(res.status).toBe(401);
    expect((await h.core.keys.show({ communityId: 'T0TEST', userId: ADMIN }, keyId)).status).toBe('active');
  });
});

describe('the request listener serves only POST /slack/events', () => {
  it.each([
    ['GET', '/slack/events'],
    ['POST', '/slack/other'],
  ])('%s %s → 404, no Slack call', async (method, path) => {
    const res = await fetch(`${h.baseUrl}${path}`, {
      method,
      ...(method === 'POST' ? { body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    });
    expect(res.status).toBe(404);
    expect(h.fake.calls).toEqual([]);
  });

  it('a signed body that is not a Slack payload → 400 or 401, nothing happens', async () => {
    const res = await h.send('payload=%7Bnot-json');
    expect([400, 401]).toContain(res.status);
    await settle();
    expect(h.fake.calls).toEqual([]);
  });
});

/** One admin-only action replayed by someone else: what to send, and where the refusal shows. */
interface Case {
  name: string;
  send(userId: string): Promise<{ status: number; json?: unknown }>;
  /** Resolves with the refusal the user sees. */
  refusal(sent: { status: number; json?: unknown }): Promise<string>;
}

const responseUrl = () => h.fake.responseUrl();
const waitRespond = async () => textOf((await h.fake.waitFor('respond')).args);
const waitModal = (method: 'views.open' | 'views.push') => async () => textOf((await h.fake.waitFor(method)).args.view);

const cases: Case[] = [
  { name: '/apikey create', send: (u) => h.commandOnly(u, 'create Sneaky').then((s) => s.res), refusal: waitRespond },
  {
    name: 'create modal submission',
    send: (u) =>
      h.submit({
        userId: u,
        callbackId: callbackIds.createKey,
        values: {
          [blockIds.name]: { [actionIds.nameInput]: textInput('Sneaky') },
          [blockIds.description]: { [actionIds.descriptionInput]: textInput('A key nobody should get') },
          [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['ic_admin']) },
        },
      }),
    refusal: async (sent) => {
      const ack = sent.json as { response_action: string; errors: Record<string, string> };
      expect(ack.response_action).toBe('errors');
      return ack.errors[blockIds.name] ?? '';
    },
  },
  { name: '/apikey revoke', send: (u) => h.commandOnly(u, `revoke ${keyId}`).then((s) => s.res), refusal: waitRespond },
  {
    name: 'Revoke button in the confirmation message',
    send: (u) => h.click({ userId: u, actionId: actionIds.revokeKey, value: keyId, container: { type: 'message' }, responseUrl: responseUrl() }),
    refusal: waitRespond,
  },
  {
    name: 'Revoke button in the key modal',
    send: (u) =>
      h.click({
        userId: u,
        actionId: actionIds.revokeKey,
        value: keyId,
        container: { type: 'view', view_id: 'VFORGED' },
        view: { type: 'modal', callback_id: callbackIds.keyDetails, private_metadata: JSON.stringify({ k: keyId }) },
      }),
    refusal: waitModal('views.push'),
  },
  { name: '/apikey members add', send: (u) => h.commandOnly(u, 'members add <@UNEWBIE|newbie> admin').then((s) => s.res), refusal: waitRespond },
  { name: '/apikey members remove', send: (u) => h.commandOnly(u, `members remove <@${ADMIN}>`).then((s) => s.res), refusal: waitRespond },
  {
    name: '+ API key on the Home tab',
    send: (u) =>
      h.click({ userId: u, actionId: actionIds.addKey, container: { type: 'view', view_id: 'VHOME' }, view: { type: 'home', callback_id: callbackIds.home } }),
    refusal: waitModal('views.open'),
  },
  {
    name: '+ API key in a list message',
    send: (u) => h.click({ userId: u, actionId: actionIds.addKey, container: { type: 'message' }, responseUrl: responseUrl() }),
    refusal: waitRespond,
  },
  {
    name: 'Edit in a list message',
    send: (u) => h.click({ userId: u, actionId: actionIds.editKey, value: keyId, container: { type: 'message' }, responseUrl: responseUrl() }),
    refusal: waitRespond,
  },
  {
    name: 'Edit on the Home tab',
    send: (u) =>
      h.click({
        userId: u,
        actionId: actionIds.editKey,
        value: keyId,
        container: { type: 'view', view_id: 'VHOME' },
        view: { type: 'home', callback_id: callbackIds.home },
      }),
    refusal: waitModal('views.open'),
  },
];

const users = [
  { who: 'a viewer', userId: VIEWER, because: /You are a viewer/ },
  { who: 'an unmapped user', userId: STRANGER, because: /not mapped/ },
];

describe.each(users)('admin-only actions replayed by $who are refused with an explanation, and nothing changes', ({ userId, because }) => {
  it.each(cases)('$name', async (c) => {
    const before = await h.dbDump();
    const sent = await c.send(userId);
    expect(sent.status).toBe(200);
    const text = await c.refusal(sent);
    expect(text).toMatch(/Only Keywarden admins can/);
    expect(text).toMatch(because);
    await settle();
    expect(await h.dbDump()).toBe(before);
    // Nothing that would let them go on: no create or key modal, no revoke button, no secret.
    const opened = [...h.fake.callsOf('views.open'), ...h.fake.callsOf('views.push')].map((x: FakeSlackCall) => x.args.view as { callback_id?: string });
    expect(opened.every((v) => v.callback_id === callbackIds.notice)).toBe(true);
    expect(h.fake.calls.flatMap((x) => actionIdsIn(x.args))).not.toContain(actionIds.revokeKey);
    expect(h.fake.callsOf('chat.postEphemeral')).toEqual([]);
    expect(h.fake.callsOf('views.update')).toEqual([]);
  });
});

it('the key is still active after every refused attempt', async () => {
  expect((await h.core.keys.show({ communityId: 'T0TEST', userId: ADMIN }, keyId)).status).toBe('active');
  expect(await h.core.members.roleOf({ communityId: 'T0TEST', userId: ADMIN })).toBe('admin');
  expect(await h.core.members.roleOf({ communityId: 'T0TEST', userId: 'UNEWBIE' })).toBeUndefined();
});
