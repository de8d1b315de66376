import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, callbackIds } from '../../src/slack/ids.js';
import { ADMIN, STRANGER, VIEWER, actionIdsIn, addViewer, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const admin = { communityId: 'T0TEST', userId: ADMIN };
let h: SlackHarness;
let keyId: string;

interface Btn {
  action_id: string;
  value?: string;
}
const buttonsOf = (blocks: unknown): Btn[] =>
  ((blocks ?? []) as Array<{ type: string; elements?: Btn[] }>).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
/** The event lines of a page: sections that start with a date token. */
const eventLines = (blocks: unknown): string[] =>
  ((blocks ?? []) as Array<{ type: string; text?: { text: string } }>)
    .filter((b) => b.type === 'section' && b.text?.text.startsWith('<!date^'))
    .map((b) => b.text!.text);
const dateOf = (line: string) => Number(/^<!date\^(\d+)/.exec(line)![1]);

beforeAll(async () => {
  h = await startSlackHarness('slackaudit');
  await addViewer(h.core);
  // 25 events for one key: created, 23 rolls, revoked with a reason.
  const { key } = await h.core.keys.create(admin, { name: 'Audited key', description: 'A key with a long history', roles: ['ic_viewer'], expiresInDays: 90 });
  keyId = key.keyId;
  for (let i = 0; i < 23; i++) await h.core.keys.roll(admin, keyId, 'none');
  await h.core.keys.revoke(admin, keyId, { reason: 'compromised' });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

/** Clicks a paging button on an ephemeral message and returns the replacement. */
async function clickMessage(userId: string, b: Btn) {
  const url = h.fake.responseUrl();
  await h.click({ userId, actionId: b.action_id, value: b.value, container: { type: 'message' }, responseUrl: url });
  return (await h.fake.waitFor('respond', (c) => c.url === url)).args;
}

describe('/apikey audit <keyId>', () => {
  it('pages a key with 25 events newest first, 10 per page, with who and when; Previous goes back', async () => {
    const { reply } = await h.command(ADMIN, `audit ${keyId}`);
    const page1 = eventLines(reply.args.blocks);
    expect(page1).toHaveLength(10);
    expect(page1[0]).toMatch(/\*Revoked\* by <@UADMIN1> — reason: compromised/);
    expect(page1.slice(1).every((l) => /\*Rolled\* by <@UADMIN1>/.test(l))).toBe(true);
    expect(buttonsOf(reply.args.blocks).map((b) => b.action_id)).toEqual([actionIds.auditNext]);

    const next1 = buttonsOf(reply.args.blocks)[0]!;
    const p2 = await clickMessage(ADMIN, next1);
    const page2 = eventLines(p2.blocks);
    expect(page2).toHaveLength(10);
    expect(p2.replace_original).toBe(true);
    expect(buttonsOf(p2.blocks).map((b) => b.action_id)).toEqual([actionIds.auditPrev, actionIds.auditNext]);

    const p3 = await clickMessage(
      ADMIN,
      buttonsOf(p2.blocks).find((b) => b.action_id === actionIds.auditNext)!,
    );
    const page3 = eventLines(p3.blocks);
    expect(page3).toHaveLength(5);
    expect(page3[4]).toMatch(/\*Created\* by <@UADMIN1>/);
    expect(buttonsOf(p3.blocks).map((b) => b.action_id)).toEqual([actionIds.auditPrev]);

    const all = [...page1, ...page2, ...page3];
    expect(new Set(all).size).toBe(25);
    const dates = all.map(dateOf);
    expect(dates).toEqual([...dates].sort((a, b) => b - a));

    const back = await clickMessage(
      ADMIN,
      buttonsOf(p3.blocks).find((b) => b.action_id === actionIds.auditPrev)!,
    );
    expect(eventLines(back.blocks)).toEqual(page2);
  });

  it('Activity in the key modal pushes the timeline; Next updates that modal in place', async () => {
    await h.click({
      userId: ADMIN,
      actionId: actionIds.editKey,
      value: keyId,
      triggerId: 'trig.audit.edit',
      container: { type: 'message' },
      responseUrl: h.fake.responseUrl(),
    });
    const open = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.audit.edit');
    expect(actionIdsIn(open.args.view)).toContain(actionIds.keyActivity);
    await h.click({
      userId: ADMIN,
      actionId: actionIds.keyActivity,
      value: keyId,
      triggerId: 'trig.audit.push',
      container: { type: 'view', view_id: 'VKEY1' },
      view: { type: 'modal', callback_id: callbackIds.keyDetails },
    });
    const push = await h.fake.waitFor('views.push', (c) => c.args.trigger_id === 'trig.audit.push');
    const view = push.args.view as { callback_id: string; blocks: unknown };
    expect(view.callback_id).toBe(callbackIds.audit);
    expect(eventLines(view.blocks)).toHaveLength(10);
    const next = buttonsOf(view.blocks).find((b) => b.action_id === actionIds.auditNext)!;
    await h.click({
      userId: ADMIN,
      actionId: next.action_id,
      value: next.value,
      container: { type: 'view', view_id: 'VAUDIT1' },
      view: { id: 'VAUDIT1', type: 'modal', callback_id: callbackIds.audit },
    });
    const update = await h.fake.waitFor('views.update', (c) => c.args.view_id === 'VAUDIT1');
    expect(eventLines((update.args.view as { blocks: unknown }).blocks)).toHaveLength(10);
  });

  it('a viewer and an unmapped user are refused, by command and by a replayed Next; nothing about the key is shown', async () => {
    for (const who of [VIEWER, STRANGER]) {
      const { reply } = await h.command(who, `audit ${keyId}`);
      expect(textOf(reply.args)).toMatch(/admin|not a member|isn't set up|not allowed/i);
      expect(eventLines(reply.args.blocks)).toHaveLength(0);
      const replay = await clickMessage(who, { action_id: actionIds.auditNext, value: JSON.stringify({ k: keyId }) });
      expect(eventLines(replay.blocks)).toHaveLength(0);
      expect(textOf(replay)).not.toContain('Rolled');
    }
    const ws = await h.command(VIEWER, 'audit');
    expect(eventLines(ws.reply.args.blocks)).toHaveLength(0);
  });
});

describe('/apikey audit [@user] (workspace)', () => {
  it('shows the workspace newest first, member changes included, and filters by user', async () => {
    const { reply } = await h.command(ADMIN, 'audit');
    const lines = eventLines(reply.args.blocks);
    expect(lines).toHaveLength(10);
    expect(lines[0]).toContain(`\`${keyId}\``);

    const byViewer = await h.command(ADMIN, `audit <@${VIEWER}|viewer>`);
    const vlines = eventLines(byViewer.reply.args.blocks);
    expect(vlines).toHaveLength(1);
    expect(vlines[0]).toMatch(/\*Member added\* <@UVIEWER1> as viewer by <@UADMIN1>/);
    expect(textOf(byViewer.reply.args.blocks)).toContain('involving <@UVIEWER1>');
  });

  it('a mistake gets the usage line', async () => {
    const { reply } = await h.command(ADMIN, 'audit one two');
    expect(textOf(reply.args)).toMatch(/Give one keyId, or mention one user/);
  });
});
