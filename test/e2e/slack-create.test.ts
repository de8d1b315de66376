import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { multiSelect, textInput, type ViewStateValue } from '../support/slack-requests.js';
import { ADMIN, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('slackcreate');
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

function values(over: { name?: string; description?: string; roles?: string[] } = {}): Record<string, Record<string, ViewStateValue>> {
  return {
    [blockIds.name]: { [actionIds.nameInput]: textInput(over.name ?? 'Threat feed sync') },
    [blockIds.description]: { [actionIds.descriptionInput]: textInput(over.description ?? 'Pulls CTI feeds every hour') },
    [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(over.roles ?? ['cti_connector']) },
  };
}

const submit = (over: Parameters<typeof values>[0] = {}, extra: { viewId?: string; privateMetadata?: string } = {}) =>
  h.submit({ userId: ADMIN, callbackId: callbackIds.createKey, values: values(over), ...extra });

const keyCount = () => h.core.mongo.models.apiKeys.countDocuments({});

describe('invalid input comes back inline on the failing field, and nothing is created', () => {
  it.each([
    ['description of 10 characters', { description: 'x'.repeat(10) }, blockIds.description, /more than 10 and fewer than 100.*11–99/],
    ['description of 100 characters', { description: 'x'.repeat(100) }, blockIds.description, /11–99/],
    ['description of spaces around 10 characters', { description: `  ${'y'.repeat(10)}   ` }, blockIds.description, /11–99/],
    ['no roles', { roles: [] }, blockIds.roles, /at least one role/],
    ['an unknown role', { roles: ['ic_viewer', 'root_everything'] }, blockIds.roles, /Unknown role: root_everything/],
    ['an empty name', { name: '   ' }, blockIds.name, /1–64/],
    ['a 65-character name', { name: 'n'.repeat(65) }, blockIds.name, /1–64/],
  ])('%s', async (_name, over, block, message) => {
    const before = await keyCount();
    const res = await submit(over);
    expect(res.status).toBe(200);
    const ack = res.json as { response_action: string; errors: Record<string, string> };
    expect(ack.response_action).toBe('errors');
    expect(Object.keys(ack.errors)).toEqual([block]);
    expect(ack.errors[block]).toMatch(message);
    expect(await keyCount()).toBe(before);
    expect(h.fake.calls).toEqual([]);
  });

  it('every invalid field at once gets its own message', async () => {
    const res = await submit({ name: '', description: 'short', roles: [] });
    const ack = res.json as { errors: Record<string, string> };
    expect(Object.keys(ack.errors).sort()).toEqual([blockIds.description, blockIds.name, blockIds.roles].sort());
  });

  it.each([
    ['11 characters', 'd'.repeat(11)],
    ['99 characters', 'd'.repeat(99)],
  ])('a description of %s is accepted', async (_n, description) => {
    const res = await submit({ description });
    expect((res.json as { response_action: string }).response_action).toBe('update');
    await h.fake.waitFor('chat.postEphemeral');
  });
});

describe('when the DM cannot be delivered, the modal shows the secret instead', () => {
  it.each([
    ['chat.postEphemeral fails', 'chat.postEphemeral'],
    ['conversations.open fails', 'conversations.open'],
  ])('%s', async (_n, method) => {
    h.fake.failNext(method, 'channel_not_found');
    const res = await submit({ name: `Fallback ${method}` }, { viewId: `VFALL${method.length}` });
    const ack = res.json as { response_action: string; view: unknown };
    expect(ack.response_action).toBe('update');
    expect(textOf(ack.view)).not.toMatch(TOKEN_RE);
    const update = await h.fake.waitFor('views.update', (c) => c.args.view_id === `VFALL${method.length}`);
    const token = TOKEN_RE.exec(textOf(update.args.view))?.[0];
    expect(token).toBeDefined();
    expect(textOf(update.args.view)).toMatch(/vault/);
    expect((await h.core.keys.verify(token!)).valid).toBe(true);
    // Only the (failed) DM ephemeral attempt and this update carried it: no message, no log line.
    for (const c of h.fake.calls.filter((x) => x !== update && x.method !== 'chat.postEphemeral')) expect(textOf(c.args)).not.toContain(token);
    expect(h.fake.callsOf('chat.postMessage')).toEqual([]);
    expect(h.logs.text()).not.toContain(token);
    expect(await h.dbDump()).not.toContain(token);
  });
});

describe('create from + API key on the Home tab', () => {
  it('opens the modal, and after the create refreshes Home with the filter the admin had', async () => {
    const homeState = JSON.stringify({ s: 'all', q: 'nightly' });
    await h.click({
      userId: ADMIN,
      actionId: actionIds.addKey,
      triggerId: 'trig.home.add',
      container: { type: 'view', view_id: 'VHOME1' },
      view: { type: 'home', callback_id: callbackIds.home, private_metadata: homeState },
    });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.home.add');
    const modal = open.args.view as { callback_id: string; private_metadata: string };
    expect(modal.callback_id).toBe(callbackIds.createKey);
    h.fake.reset();
    await submit({ name: 'Nightly export', description: 'Exports the nightly intel digest' }, { privateMetadata: modal.private_metadata });
    const publish = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    const view = publish.args.view as { private_metadata: string };
    expect(JSON.parse(view.private_metadata)).toMatchObject({ s: 'all', q: 'nightly' });
    expect(textOf(publish.args.view)).toContain('Nightly export');
  });
});

describe('a create slower than the ack budget', () => {
  let slow: SlackHarness;
  beforeAll(async () => {
    slow = await startSlackHarness('slackslow', { ackBudgetMs: 0 });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('acks with "Creating…", then updates the modal to success and still DMs the secret once', async () => {
    const res = await slow.submit({ userId: ADMIN, callbackId: callbackIds.createKey, viewId: 'VSLOW1', values: values({ name: 'Slow path' }) });
    const ack = res.json as { response_action: string; view: unknown };
    expect(ack.response_action).toBe('update');
    expect(textOf(ack.view)).toMatch(/Creating the key/);
    const update = await slow.fake.waitFor('views.update', (c) => c.args.view_id === 'VSLOW1');
    expect(textOf(update.args.view)).toMatch(/Created \*Slow path\*/);
    expect(textOf(update.args.view)).not.toMatch(TOKEN_RE);
    const dm = await slow.fake.waitFor('chat.postEphemeral');
    expect(textOf(dm.args.blocks)).toMatch(TOKEN_RE);
  });

  it('validation errors are still answered inline in the ack', async () => {
    const res = await slow.submit({ userId: ADMIN, callbackId: callbackIds.createKey, values: values({ description: 'too short' }) });
    expect((res.json as { response_action: string }).response_action).toBe('errors');
  });
});
