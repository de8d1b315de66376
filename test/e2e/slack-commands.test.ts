import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { appHomeOpened, slashCommand } from '../support/slack-requests.js';
import { ADMIN, STRANGER, TEAM, VIEWER, actionIdsIn, addViewer, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

let h: SlackHarness;
const admin = { communityId: TEAM, userId: ADMIN };
const keyIds: string[] = [];

beforeAll(async () => {
  h = await startSlackHarness('slackcmds');
  await addViewer(h.core);
  // 12 keys, newest last: "Batch 01" … "Batch 12"; every third mentions "nightly".
  for (let i = 1; i <= 12; i++) {
    const { key } = await h.core.keys.create(admin, {
      name: `Batch ${String(i).padStart(2, '0')}`,
      description: i % 3 === 0 ? `Nightly export number ${i}` : `Hourly sync job number ${i}`,
      roles: ['ic_viewer'],
    });
    keyIds.push(key.keyId);
  }
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

type Blocks = Array<Record<string, any>>;
const buttonValue = (blocks: Blocks, actionId: string): string | undefined => {
  for (const b of blocks) for (const e of b.elements ?? []) if (e.action_id === actionId) return e.value;
  return undefined;
};

describe('help and usage', () => {
  it.each(['', 'help'])('"/apikey %s" answers the whole usage, ephemerally', async (text) => {
    const { reply } = await h.command(STRANGER, text);
    expect(reply.args.response_type).toBe('ephemeral');
    for (const sub of ['list', 'create', 'show', 'revoke', 'members', 'link']) expect(textOf(reply.args.blocks)).toContain(`/apikey ${sub}`);
  });

  it.each([
    ['frobnicate', /don't know `frobnicate`/, '/apikey list'],
    ['show', /Which key/, '/apikey show <keyId>'],
    ['revoke', /Which key/, '/apikey revoke <keyId> [<keyId>…] [reason…]'],
    [
      `revoke ${Array.from({ length: 51 }, (_, i) => `ak_${String(i).padStart(12, '0')}`).join(' ')}`,
      /At most 50 keys at once: you gave 51/,
      '/apikey revoke <keyId> [<keyId>…] [reason…]',
    ],
    ['members add @alex viewer', /Mention the user/, '/apikey members'],
    ['members add <@U0ALEX|alex> owner', /admin.*viewer/, '/apikey members'],
    ['members kick <@U0ALEX>', /not a members command/, '/apikey members'],
    ['link ak_x webhook foo <https://example.com>', /playbook.*cti/, '/apikey link'],
    ['link ak_x playbook <https://example.com/hook>', /name/, '/apikey link'],
  ])('"/apikey %s" answers with the fitting usage line', async (text, problem, line) => {
    const { reply } = await h.command(ADMIN, text);
    expect(reply.args.response_type).toBe('ephemeral');
    expect(textOf(reply.args.blocks)).toMatch(problem);
    expect(textOf(reply.args.blocks)).toContain(line);
  });

  it('show and revoke of an unknown keyId say so', async () => {
    const { reply } = await h.command(ADMIN, 'show ak_doesnotexist');
    expect(textOf(reply.args)).toMatch(/No API key `ak_doesnotexist`/);
  });

  it('an unmapped user asking for the list is told whom to ask', async () => {
    const { reply } = await h.command(STRANGER, 'list');
    expect(textOf(reply.args)).toMatch(/not mapped/);
  });
});

describe('list paging keeps the filter and the search', () => {
  it('10 per page, Next and Previous on the same message', async () => {
    const first = await h.command(ADMIN, 'list');
    const blocks1 = first.reply.args.blocks as Blocks;
    expect(blocks1.length).toBeLessThanOrEqual(50);
    const shown1 = keyIds.filter((id) => textOf(blocks1).includes(id));
    expect(shown1).toHaveLength(10);
    expect(shown1).toContain(keyIds[11]); // newest first
    expect(buttonValue(blocks1, actionIds.listPrev)).toBeUndefined();
    const next = buttonValue(blocks1, actionIds.listNext)!;
    expect(next.length).toBeLessThanOrEqual(2000);

    const url = h.fake.responseUrl();
    await h.click({ userId: ADMIN, actionId: actionIds.listNext, value: next, container: { type: 'message' }, responseUrl: url });
    const second = await h.fake.waitFor('respond', (c) => c.url === url);
    expect(second.args.replace_original).toBe(true);
    const blocks2 = second.args.blocks as Blocks;
    expect(keyIds.filter((id) => textOf(blocks2).includes(id))).toEqual([keyIds[0], keyIds[1]]);
    // Newest first within the page too.
    expect(textOf(blocks2).indexOf(keyIds[1]!)).toBeLessThan(textOf(blocks2).indexOf(keyIds[0]!));
    expect(buttonValue(blocks2, actionIds.listNext)).toBeUndefined();

    const url2 = h.fake.responseUrl();
    await h.click({
      userId: ADMIN,
      actionId: actionIds.listPrev,
      value: buttonValue(blocks2, actionIds.listPrev)!,
      container: { type: 'message' },
      responseUrl: url2,
    });
    const back = await h.fake.waitFor('respond', (c) => c.url === url2);
    expect(keyIds.filter((id) => textOf(back.args.blocks).includes(id))).toEqual(shown1);
  });

  it('a search with status stays in the paging value', async () => {
    const { reply } = await h.command(VIEWER, 'list all nightly');
    const shown = keyIds.filter((id) => textOf(reply.args.blocks).includes(id));
    expect(shown).toHaveLength(4);
    expect(actionIdsIn(reply.args.blocks)).toEqual([]);
  });

  it('a viewer pages too; a stranger replaying a page button is refused', async () => {
    const first = await h.command(VIEWER, 'list');
    const next = buttonValue(first.reply.args.blocks as Blocks, actionIds.listNext)!;
    expect(JSON.parse(next)).toMatchObject({ s: 'active', q: '' });
    const url = h.fake.responseUrl();
    await h.click({ userId: STRANGER, actionId: actionIds.listNext, value: next, container: { type: 'message' }, responseUrl: url });
    const refused = await h.fake.waitFor('respond', (c) => c.url === url);
    expect(textOf(refused.args)).toMatch(/not mapped/);
    expect(refused.args.replace_original).toBe(false);
  });
});

describe('a paging cursor that is not a position', () => {
  const crafted = ['zzzzzzzzzzzz.0123456789abcdef01234567', 'abc', '0001.0123456789abcdef01234567'];

  it.each(crafted)('Next with cursor %j answers "That page is gone" and the first page', async (cursor) => {
    const url = h.fake.responseUrl();
    await h.click({
      userId: ADMIN,
      actionId: actionIds.listNext,
      value: JSON.stringify({ s: 'active', q: '', a: cursor }),
      container: { type: 'message' },
      responseUrl: url,
    });
    const reply = await h.fake.waitFor('respond', (c) => c.url === url);
    expect(reply.args.replace_original).toBe(true);
    expect(textOf(reply.args.blocks)).toContain('That page is gone; here is the first page.');
    expect(String(reply.args.text)).toContain('That page is gone; here is the first page.');
    const shown = keyIds.filter((id) => textOf(reply.args.blocks).includes(id));
    expect(shown).toHaveLength(10);
    expect(shown).toContain(keyIds[11]); // the newest: page one
  });

  it('Previous with a non-string cursor, from the Home tab, publishes the first page with the same words', async () => {
    await h.click({
      userId: ADMIN,
      actionId: actionIds.listPrev,
      value: JSON.stringify({ s: 'active', q: '', b: 12345 }),
      container: { type: 'view', view_id: 'VHOMEC' },
      view: { type: 'home', private_metadata: '{}' },
    });
    const published = await h.fake.waitFor('views.publish', (c) => textOf(c.args.view).includes('That page is gone'));
    expect(textOf(published.args.view)).toContain(keyIds[11]);
  });
});

describe('revoke from the ephemeral confirmation', () => {
  it('asks, revokes on the button, replaces the confirmation; a second click says already revoked', async () => {
    const keyId = keyIds[0]!;
    const { reply } = await h.command(ADMIN, `revoke ${keyId}`);
    const blocks = reply.args.blocks as Blocks;
    const revoke = blocks.flatMap((b) => b.elements ?? []).find((e: any) => e.action_id === actionIds.revokeKey);
    expect(revoke.style).toBe('danger');
    expect(revoke.confirm.text.text).toMatch(/cannot be undone/);
    const click = async () => {
      const url = h.fake.responseUrl();
      await h.click({ userId: ADMIN, actionId: actionIds.revokeKey, value: keyId, container: { type: 'message' }, responseUrl: url });
      return h.fake.waitFor('respond', (c) => c.url === url);
    };
    const done = await click();
    expect(done.args.replace_original).toBe(true);
    expect(textOf(done.args)).toMatch(/Revoked/);
    expect((await h.core.keys.show(admin, keyId)).status).toBe('revoked');
    await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    const again = await click();
    expect(textOf(again.args)).toMatch(/already revoked/);
    const after = await h.command(ADMIN, `revoke ${keyId}`);
    expect(textOf(after.reply.args)).toMatch(/already revoked/);
  });
});

describe('members', () => {
  it('list, add with an escaped mention, change role, remove; the last admin stays', async () => {
    const list = await h.command(VIEWER, 'members');
    expect(textOf(list.reply.args.blocks)).toContain(`<@${ADMIN}>`);
    expect(textOf(list.reply.args.blocks)).toContain(`<@${VIEWER}>`);

    expect(textOf((await h.command(ADMIN, 'members add <@U0ALEX|alex> viewer')).reply.args)).toMatch(/Added <@U0ALEX> as viewer/);
    expect(await h.core.members.roleOf({ communityId: TEAM, userId: 'U0ALEX' })).toBe('viewer');
    expect(textOf((await h.command(ADMIN, 'members add <@U0ALEX> admin')).reply.args)).toMatch(/now admin/);
    expect(textOf((await h.command(ADMIN, 'members remove <@U0ALEX|alex>')).reply.args)).toMatch(/Removed <@U0ALEX>/);
    expect(await h.core.members.roleOf({ communityId: TEAM, userId: 'U0ALEX' })).toBeUndefined();

    expect(textOf((await h.command(ADMIN, `members remove <@${ADMIN}>`)).reply.args)).toMatch(/last admin/);
    expect(await h.core.members.roleOf(admin)).toBe('admin');
  });
});

describe("failures that are not the user's", () => {
  it('a response URL that fails is logged by app.error; the app keeps serving', async () => {
    h.fake.failNext('respond', 'expired_url');
    const { responseUrl } = await h.commandOnly(ADMIN, 'help');
    await h.fake.waitFor('respond', (c) => c.url === responseUrl);
    await expect.poll(() => h.logs.text()).toMatch(/slack handler failed/);
    const again = await h.command(ADMIN, 'help');
    expect(again.reply.args.response_type).toBe('ephemeral');
  });
});

describe('org-wide installs share one community: the enterprise', () => {
  it('keys of the enterprise are listed from any of its workspaces, not the team', async () => {
    const org = { communityId: 'E0ORG', userId: ADMIN };
    const { key } = await h.core.keys.create(org, { name: 'Org-wide key', description: 'Shared across the whole grid', roles: ['ic_viewer'] });
    const responseUrl = h.fake.responseUrl();
    await h.send(slashCommand({ text: 'list', userId: ADMIN, teamId: 'T0OTHER', enterpriseId: 'E0ORG', responseUrl }));
    const reply = await h.fake.waitFor('respond', (c) => c.url === responseUrl);
    expect(textOf(reply.args.blocks)).toContain(key.keyId);
    expect(keyIds.some((id) => textOf(reply.args.blocks).includes(id))).toBe(false);
  });
});

describe('App Home', () => {
  it('app_home_opened publishes the list with search, filter and + API key for admins', async () => {
    expect((await h.send(appHomeOpened({ userId: ADMIN }))).status).toBe(200);
    const publish = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    const view = publish.args.view as { type: string; blocks: Blocks };
    expect(view.type).toBe('home');
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const ids = actionIdsIn(view.blocks);
    expect(ids).toEqual(
      expect.arrayContaining([actionIds.homeSearchInput, actionIds.homeStatus, actionIds.homeSearch, actionIds.addKey, actionIds.editKey, actionIds.listNext]),
    );
  });

  it('a viewer gets the list without Edit or + API key; a stranger is told whom to ask', async () => {
    await h.send(appHomeOpened({ userId: VIEWER }));
    const viewer = await h.fake.waitFor('views.publish', (c) => c.args.user_id === VIEWER);
    const ids = actionIdsIn(viewer.args.view);
    expect(ids).not.toContain(actionIds.addKey);
    expect(ids).not.toContain(actionIds.editKey);
    await h.send(appHomeOpened({ userId: STRANGER }));
    const stranger = await h.fake.waitFor('views.publish', (c) => c.args.user_id === STRANGER);
    expect(textOf(stranger.args.view)).toMatch(/not mapped/);
  });

  it('the status filter and the search box re-render the Home', async () => {
    const home = { type: 'view' as const, view_id: 'VHOMEA' };
    await h.click({
      userId: ADMIN,
      actionId: actionIds.homeStatus,
      selectedOption: { value: 'revoked' },
      container: home,
      view: { type: 'home', callback_id: callbackIds.home, private_metadata: '{"s":"active","q":""}' },
    });
    const revoked = await h.fake.waitFor('views.publish', (c) => JSON.parse((c.args.view as any).private_metadata).s === 'revoked');
    expect(textOf(revoked.args.view)).toContain(keyIds[0]);
    expect(textOf(revoked.args.view)).not.toContain(keyIds[5]);

    h.fake.reset();
    await h.click({
      userId: ADMIN,
      actionId: actionIds.homeSearchInput,
      value: 'nightly',
      container: home,
      view: { type: 'home', callback_id: callbackIds.home, private_metadata: '{"s":"all","q":""}' },
    });
    const searched = await h.fake.waitFor('views.publish');
    expect(JSON.parse((searched.args.view as any).private_metadata)).toEqual({ s: 'all', q: 'nightly' });
    expect(keyIds.filter((id) => textOf(searched.args.view).includes(id))).toHaveLength(4);
  });

  it('the Search button reads the box and the select from the view state; an emptied box clears the search', async () => {
    const view = (q: string | null, s: string) => ({
      type: 'home',
      callback_id: callbackIds.home,
      private_metadata: '{"s":"all","q":"nightly"}',
      state: {
        values: {
          [blockIds.homeSearch]: { [actionIds.homeSearchInput]: { type: 'plain_text_input', value: q } },
          [blockIds.homeControls]: { [actionIds.homeStatus]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: s }, value: s } } },
        },
      },
    });
    await h.click({ userId: VIEWER, actionId: actionIds.homeSearch, container: { type: 'view', view_id: 'VHOMEB' }, view: view('hourly', 'active') });
    const hourly = await h.fake.waitFor('views.publish', (c) => c.args.user_id === VIEWER);
    expect(JSON.parse((hourly.args.view as any).private_metadata)).toEqual({ s: 'active', q: 'hourly' });
    h.fake.reset();
    await h.click({ userId: VIEWER, actionId: actionIds.homeSearch, container: { type: 'view', view_id: 'VHOMEB' }, view: view(null, 'all') });
    const cleared = await h.fake.waitFor('views.publish', (c) => c.args.user_id === VIEWER);
    expect(JSON.parse((cleared.args.view as any).private_metadata)).toEqual({ s: 'all', q: '' });
  });

  it('Next on the Home publishes the next page with the same filter', async () => {
    const value = JSON.stringify({ s: 'all', q: 'batch' });
    await h.send(appHomeOpened({ userId: ADMIN }));
    const first = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    const next = buttonValue((first.args.view as { blocks: Blocks }).blocks, actionIds.listNext);
    expect(next).toBeDefined();
    h.fake.reset();
    await h.click({
      userId: ADMIN,
      actionId: actionIds.listNext,
      value: JSON.stringify({ ...JSON.parse(next!), ...JSON.parse(value) }),
      container: { type: 'view', view_id: 'VHOMEC' },
      view: { type: 'home', callback_id: callbackIds.home },
    });
    const second = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    const meta = JSON.parse((second.args.view as any).private_metadata);
    expect(meta).toMatchObject({ s: 'all', q: 'batch' });
    expect(keyIds.filter((id) => textOf(second.args.view).includes(id)).length).toBeGreaterThan(0);
    expect(buttonValue((second.args.view as { blocks: Blocks }).blocks, actionIds.listPrev)).toBeDefined();
  });

  it('Edit on the Home opens the key modal remembering the Home filter', async () => {
    const state = '{"s":"all","q":"nightly"}';
    await h.click({
      userId: ADMIN,
      actionId: actionIds.editKey,
      value: keyIds[5],
      triggerId: 'trig.home.edit',
      container: { type: 'view', view_id: 'VHOMEA' },
      view: { type: 'home', callback_id: callbackIds.home, private_metadata: state },
    });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.home.edit');
    expect(JSON.parse((open.args.view as any).private_metadata)).toEqual({ k: keyIds[5], h: state });
  });
});

describe('link and unlink dependents', () => {
  it('links with an escaped URL, sends the signing secret once to the DM, and Unlink in the key modal works', async () => {
    const keyId = keyIds[6]!;
    const { reply } = await h.command(ADMIN, `link ${keyId} playbook Contain host &amp; notify <http://127.0.0.1:9/hooks/contain>`);
    expect(textOf(reply.args)).toMatch(/Linked Playbook \*Contain host &amp; notify\*/);
    const dm = await h.fake.waitFor('chat.postEphemeral');
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(textOf(dm.args.blocks))?.[0];
    expect(secret).toBeDefined();
    expect(textOf(reply.args)).not.toContain(secret);
    expect(h.logs.text()).not.toContain(secret);

    const deps = await h.core.dependents.listForKey(admin, keyId);
    expect(deps).toHaveLength(1);
    expect(deps[0]).toMatchObject({ kind: 'playbook', name: 'Contain host & notify', webhookUrl: 'http://127.0.0.1:9/hooks/contain' });

    await h.click({
      userId: ADMIN,
      actionId: actionIds.editKey,
      value: keyId,
      triggerId: 'trig.link.edit',
      container: { type: 'message' },
      responseUrl: h.fake.responseUrl(),
    });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.link.edit');
    const modal = open.args.view as { private_metadata: string; blocks: Blocks };
    expect(textOf(modal.blocks)).toContain('Contain host');
    expect(
      buttonValue(
        modal.blocks.map((b) => ({ elements: b.accessory ? [b.accessory] : [] })),
        actionIds.unlinkDependent,
      ),
    ).toBe(deps[0]!.dependentId);

    // A viewer replaying Unlink is refused and nothing changes.
    await h.click({
      userId: VIEWER,
      actionId: actionIds.unlinkDependent,
      value: deps[0]!.dependentId,
      container: { type: 'view', view_id: 'VKEYL' },
      view: { type: 'modal', private_metadata: modal.private_metadata },
    });
    expect(textOf((await h.fake.waitFor('views.push')).args.view)).toMatch(/Only Keywarden admins/);
    expect((await h.core.dependents.listForKey(admin, keyId))[0]!.status).toBe('active');

    await h.click({
      userId: ADMIN,
      actionId: actionIds.unlinkDependent,
      value: deps[0]!.dependentId,
      container: { type: 'view', view_id: 'VKEYL' },
      view: { type: 'modal', private_metadata: modal.private_metadata },
    });
    const updated = await h.fake.waitFor('views.update', (c) => c.args.view_id === 'VKEYL');
    expect(textOf(updated.args.view)).toMatch(/Unlinked/);
    expect(actionIdsIn(updated.args.view)).not.toContain(actionIds.unlinkDependent);
    expect((await h.core.dependents.listForKey(admin, keyId))[0]!.status).toBe('unlinked');
  });

  it('a viewer cannot link', async () => {
    const { reply } = await h.command(VIEWER, `link ${keyIds[7]} cti Feed <http://127.0.0.1:9/feed>`);
    expect(textOf(reply.args)).toMatch(/Only Keywarden admins can link/);
    expect(await h.core.dependents.listForKey(admin, keyIds[7]!)).toEqual([]);
  });
});

describe('list by creator', () => {
  it('a mentioned user filters by creator, with the status and the search, and paging keeps it', async () => {
    await h.core.members.set(admin, 'UADMIN2', 'admin');
    const theirs: string[] = [];
    for (let i = 1; i <= 11; i++) {
      const { key } = await h.core.keys.create(
        { communityId: TEAM, userId: 'UADMIN2' },
        { name: `Second admin ${i}`, description: i === 3 ? 'Nightly rotation of the vault' : 'Made by the second admin', roles: ['ic_viewer'] },
      );
      theirs.push(key.keyId);
    }
    const { reply } = await h.command(VIEWER, 'list all <@UADMIN2|second>');
    const shown = textOf(reply.args.blocks);
    expect(theirs.filter((id) => shown.includes(id))).toHaveLength(10);
    expect(keyIds.filter((id) => shown.includes(id))).toEqual([]);
    const next = buttonValue(reply.args.blocks as Blocks, actionIds.listNext)!;
    const url = h.fake.responseUrl();
    await h.click({ userId: VIEWER, actionId: actionIds.listNext, value: next, container: { type: 'message' }, responseUrl: url });
    const second = await h.fake.waitFor('respond', (c) => c.url === url);
    expect(theirs.filter((id) => textOf(second.args.blocks).includes(id))).toEqual([theirs[0]]);
    expect(keyIds.filter((id) => textOf(second.args.blocks).includes(id))).toEqual([]);

    const nightly = await h.command(VIEWER, 'list all <@UADMIN2> nightly');
    expect(theirs.filter((id) => textOf(nightly.reply.args.blocks).includes(id))).toEqual([theirs[2]]);
    expect(keyIds.filter((id) => textOf(nightly.reply.args.blocks).includes(id))).toEqual([]);
  });
});
