import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { multiSelect, textInput } from '../support/slack-requests.js';
import { ADMIN, VIEWER, actionIdsIn, addViewer, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;

describe('the admin story: create once, find, viewer sees, revoke, gone', () => {
  let h: SlackHarness;
  let token = '';
  let keyId = '';

  beforeAll(async () => {
    h = await startSlackHarness('slackstory');
    await addViewer(h.core);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('admin: /apikey create opens the modal with the name prefilled and a once-only note', async () => {
    const { res, triggerId } = await h.commandOnly(ADMIN, 'create Deploy bot');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === triggerId);
    const view = open.args.view as { callback_id: string; blocks: Array<Record<string, any>> };
    expect(view.callback_id).toBe(callbackIds.createKey);
    const name = view.blocks.find((b) => b.block_id === blockIds.name);
    expect(name?.element.initial_value).toBe('Deploy bot');
    const roles = view.blocks.find((b) => b.block_id === blockIds.roles);
    expect(roles?.element.options[0].text.text).toBe('ic_viewer - Intelligence Center Read-Only');
    expect(textOf(view)).toMatch(/11.99/);
    expect(textOf(view)).toMatch(/only once/);
  });

  it('admin submits: the modal shows success without the secret; the secret arrives once in a DM ephemeral', async () => {
    const res = await h.submit({
      userId: ADMIN,
      callbackId: callbackIds.createKey,
      viewId: 'VCREATE1',
      values: {
        [blockIds.name]: { [actionIds.nameInput]: textInput('Deploy bot') },
        [blockIds.description]: { [actionIds.descriptionInput]: textInput('Deploys the SOAR playbooks to prod') },
        [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['ic_viewer', 'orchestrate_playbook_runner']) },
      },
    });
    expect(res.status).toBe(200);
    const ack = res.json as { response_action: string; view: unknown };
    expect(ack.response_action).toBe('update');
    expect(textOf(ack.view)).toMatch(/Created/);
    expect(textOf(ack.view)).not.toMatch(TOKEN_RE);

    const open = await h.fake.waitFor('conversations.open');
    expect(open.args.users).toBe(ADMIN);
    const dm = await h.fake.waitFor('chat.postEphemeral');
    expect(dm.args.channel).toBe(`D${ADMIN}`);
    expect(dm.args.user).toBe(ADMIN);
    token = TOKEN_RE.exec(textOf(dm.args.blocks))?.[0] ?? '';
    expect(token).not.toBe('');
    expect(textOf(dm.args.blocks)).toMatch(/vault/);
    expect(textOf(dm.args.text)).not.toMatch(TOKEN_RE);
    expect(h.fake.callsOf('chat.postEphemeral')).toHaveLength(1);

    const verified = await h.core.keys.verify(token);
    expect(verified.valid).toBe(true);
    if (verified.valid) keyId = verified.key.keyId;
    // The creator's Home is refreshed with the new key.
    const home = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    expect(textOf(home.args.view)).toContain(keyId);
  });

  it('admin finds it with list and with search; a search that matches nothing says what to do', async () => {
    const all = await h.command(ADMIN, 'list');
    expect(all.reply.args.response_type).toBe('ephemeral');
    const blocks = textOf(all.reply.args.blocks);
    expect(blocks).toContain('Deploy bot');
    expect(blocks).toContain(keyId);
    expect(blocks).toContain('ic_viewer');
    expect(blocks).toContain('SOAR playbooks');
    expect(actionIdsIn(all.reply.args.blocks)).toEqual(expect.arrayContaining([actionIds.editKey, actionIds.addKey]));

    const search = await h.command(ADMIN, 'list active soar');
    expect(textOf(search.reply.args.blocks)).toContain(keyId);
    const byId = await h.command(ADMIN, `list ${keyId.toUpperCase()}`);
    expect(textOf(byId.reply.args.blocks)).toContain(keyId);

    const none = await h.command(ADMIN, 'list nothing-like-this');
    expect(textOf(none.reply.args.blocks)).not.toContain(keyId);
    expect(textOf(none.reply.args.blocks)).toMatch(/No active API keys match/);
  });

  it('a viewer sees the key but no Edit or + API key', async () => {
    const { reply } = await h.command(VIEWER, 'list');
    expect(textOf(reply.args.blocks)).toContain(keyId);
    const ids = actionIdsIn(reply.args.blocks);
    expect(ids).not.toContain(actionIds.editKey);
    expect(ids).not.toContain(actionIds.addKey);
    const show = await h.command(VIEWER, `show ${keyId}`);
    expect(textOf(show.reply.args.blocks)).toContain('ic_viewer - Intelligence Center Read-Only');
    expect(actionIdsIn(show.reply.args.blocks)).toEqual([]);
  });

  it('admin revokes through Edit: the modal shows it revoked; a second click says already revoked', async () => {
    const triggerId = 'trigger.edit.1';
    await h.click({ userId: ADMIN, actionId: actionIds.editKey, value: keyId, container: { type: 'message' }, responseUrl: h.fake.responseUrl(), triggerId });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === triggerId);
    const modal = open.args.view as { private_metadata: string; blocks: unknown[] };
    expect(actionIdsIn(modal.blocks)).toContain(actionIds.revokeKey);
    expect(textOf(modal.blocks)).toMatch(/cannot be undone/);

    const click = () =>
      h.click({
        userId: ADMIN,
        actionId: actionIds.revokeKey,
        value: keyId,
        container: { type: 'view', view_id: 'VKEY1' },
        view: { type: 'modal', callback_id: callbackIds.keyDetails, private_metadata: modal.private_metadata },
      });
    expect((await click()).status).toBe(200);
    const updated = await h.fake.waitFor('views.update', (c) => c.args.view_id === 'VKEY1');
    expect(textOf(updated.args.view)).toMatch(/Revoked/);
    expect(actionIdsIn((updated.args.view as { blocks: unknown[] }).blocks)).not.toContain(actionIds.revokeKey);
    expect((await h.core.keys.verify(token)).valid).toBe(false);

    await click();
    await h.fake.waitFor('views.update', (c) => c.args.view_id === 'VKEY1' && /already revoked/.test(textOf(c.args.view)));
    const events = await h.core.audit.forTarget('T0TEST', keyId);
    expect(events.filter((e) => e.action === 'key.revoked')).toHaveLength(1);
  });

  it('list revoked shows it; list (active) no longer does', async () => {
    const revoked = await h.command(ADMIN, 'list revoked');
    expect(textOf(revoked.reply.args.blocks)).toContain(keyId);
    expect(textOf(revoked.reply.args.blocks)).toContain('Revoked');
    const active = await h.command(ADMIN, 'list');
    expect(textOf(active.reply.args.blocks)).not.toContain(keyId);
  });

  it('the secret is nowhere: not in logs, not in the database, not in any call but the DM ephemeral', async () => {
    expect(token).toMatch(TOKEN_RE);
    expect(h.logs.text()).not.toContain(token);
    expect(h.logs.lines.length).toBeGreaterThan(0);
    expect(await h.dbDump()).not.toContain(token);
    const others = h.fake.calls.filter((c) => c.method !== 'chat.postEphemeral');
    expect(others.length).toBeGreaterThan(5);
    for (const c of others) expect(textOf(c.args)).not.toContain(token);
    expect(h.fake.callsOf('chat.postMessage')).toHaveLength(0);
  });
});
