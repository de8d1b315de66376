import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/keys/key-life.js';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { OffsetClock } from '../../src/util/clock.js';
import { appHomeOpened, multiSelect, textInput } from '../support/slack-requests.js';
import { messageProblems, viewProblems } from '../unit/slack/block-kit-limits.js';
import { ADMIN, STRANGER, TEAM, VIEWER, addViewer, eventually, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
const ADMIN2 = 'UADMIN2';
const APPROVALS = 'CAPPROVALS';
const clock = new OffsetClock();
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('slackreq', {}, clock, { APPROVALS_CHANNEL_ID: APPROVALS });
  await addViewer(h.core);
  await h.core.members.set({ communityId: TEAM, userId: ADMIN }, ADMIN2, 'admin');
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.fake.reset();
  clock.offsetMs = 0;
});

const values = (why: string, name = 'MISP feed') => ({
  [blockIds.name]: { [actionIds.nameInput]: textInput(name) },
  [blockIds.description]: { [actionIds.descriptionInput]: textInput('Pulls MISP events every hour') },
  [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['cti_connector']) },
  [blockIds.why]: { [actionIds.whyInput]: textInput(why) },
});

/** A request submitted by `userId`; returns its id (from the Approve button posted to the channel). */
async function request(userId = VIEWER, why = 'Our MISP instance needs to push sightings', harness = h, name = 'MISP feed'): Promise<string> {
  const res = await harness.submit({ userId, callbackId: callbackIds.requestKey, values: values(why, name) });
  expect(textOf(res.json)).toContain('Request sent to the admins');
  const post = await harness.fake.waitFor('chat.postMessage', (c) => textOf(c.args.blocks).includes(actionIds.approveRequest));
  const btn = (post.args.blocks as any[]).flatMap((b) => b.elements ?? []).find((e: any) => e.action_id === actionIds.approveRequest);
  return btn.value as string;
}

const click = (userId: string, actionId: string, requestId: string, harness = h) => {
  const url = harness.fake.responseUrl();
  return harness
    .click({
      userId,
      actionId,
      value: requestId,
      container: { type: 'message', channel_id: APPROVALS, is_ephemeral: false },
      responseUrl: url,
      triggerId: `trig.${Math.random()}`,
    })
    .then(() => url);
};
const keyIdOf = async (requestId: string) => (await h.core.requests.find(TEAM, requestId))!.keyId;
const keyExists = async (requestId: string) => (await h.core.mongo.models.apiKeys.countDocuments({ keyId: await keyIdOf(requestId) })) > 0;

describe('/apikey request', () => {
  it('a viewer opens the form; too short a reason comes back inline and nothing is posted', async () => {
    const { res } = await h.commandOnly(VIEWER, 'request MISP feed');
    expect(res.status).toBe(200);
    const open = await h.fake.waitFor('views.open');
    expect((open.args.view as { callback_id: string }).callback_id).toBe(callbackIds.requestKey);
    const bad = await h.submit({ userId: VIEWER, callbackId: callbackIds.requestKey, values: values('short') });
    expect(bad.json).toMatchObject({ response_action: 'errors', errors: { [blockIds.why]: expect.stringMatching(/10–500/) } });
    expect(h.fake.callsOf('chat.postMessage')).toEqual([]);
  });

  it('an unmapped user cannot request (REQUESTS_OPEN_TO_ALL is off)', async () => {
    const { reply } = await h.command(STRANGER, 'request x');
    expect(textOf(reply.args)).toMatch(/not mapped/);
  });

  it('an admin approves: the key is the viewer’s, the secret reaches only the viewer, once, and verifies; every copy says who approved', async () => {
    const id = await request();
    await click(ADMIN, actionIds.approveRequest, id);
    const dm = await h.fake.waitFor('chat.postEphemeral');
    expect(dm.args.user).toBe(VIEWER);
    const token = TOKEN_RE.exec(textOf(dm.args.blocks))![0];
    expect(await h.core.keys.verify(token)).toMatchObject({ valid: true, key: { keyId: await keyIdOf(id) } });
    const update = await h.fake.waitFor('chat.update');
    expect(textOf(update.args.blocks)).toContain(`Approved by <@${ADMIN}>`);
    expect(textOf(update.args.blocks)).toContain(await keyIdOf(id));
    const key = await h.core.keys.show({ communityId: TEAM, userId: ADMIN }, await keyIdOf(id));
    expect(key.createdBy).toBe(VIEWER);
    const created = (await h.core.audit.forTarget(TEAM, key.keyId)).find((e) => e.action === 'key.created')!;
    expect(created).toMatchObject({ actor: VIEWER, details: { approvedBy: ADMIN } });
    // The token is in one ephemeral only: no message, update, reply, log line or document holds it.
    const elsewhere = h.fake.calls.filter((c) => c !== dm);
    expect(textOf(elsewhere.map((c) => c.args))).not.toContain(token);
    expect(textOf(dm.args.text)).not.toContain(token);
    expect(textOf(h.logs.lines)).not.toContain(token);
    expect(await h.dbDump()).not.toContain(token);
    expect(h.fake.callsOf('chat.postEphemeral')).toHaveLength(1);
  });

  it('a replayed Approve from a viewer and from an unmapped user is refused and creates nothing', async () => {
    const id = await request();
    for (const who of [VIEWER, STRANGER]) {
      const url = await click(who, actionIds.approveRequest, id);
      const told = await h.fake.waitFor('respond', (c) => c.url === url);
      expect(textOf(told.args)).toMatch(/Only Keywarden admins/);
    }
    expect(await keyExists(id)).toBe(false);
    expect(await h.core.requests.decisionOf(id)).toBeUndefined();
    expect(h.fake.callsOf('chat.postEphemeral')).toEqual([]);
  });

  it('two admins approving at the same moment make one key; the second is told who approved', async () => {
    const id = await request();
    const [u1, u2] = await Promise.all([click(ADMIN, actionIds.approveRequest, id), click(ADMIN2, actionIds.approveRequest, id)]);
    const told = await eventually(() =>
      h.fake.calls.find((c) => c.method === 'respond' && (c.url === u1 || c.url === u2) && /Already approved by/.test(textOf(c.args))),
    );
    expect(textOf(told.args)).toMatch(/Already approved by <@UADMIN[12]>/);
    await h.fake.waitFor('chat.postEphemeral');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.callsOf('chat.postEphemeral')).toHaveLength(1);
    expect(await h.core.mongo.models.apiKeys.countDocuments({ keyId: await keyIdOf(id) })).toBe(1);
  });

  it('deny with a reason: the requester is told, the copies say so, and a later Approve says it was denied', async () => {
    const id = await request();
    await click(ADMIN, actionIds.denyRequest, id);
    const modal = await h.fake.waitFor('views.open');
    const meta = (modal.args.view as { private_metadata: string }).private_metadata;
    const res = await h.submit({
      userId: ADMIN,
      callbackId: callbackIds.denyRequest,
      privateMetadata: meta,
      values: { [blockIds.denyReason]: { [actionIds.denyReasonInput]: textInput('Use the shared <!channel> MISP key') } },
    });
    expect(textOf(res.json)).toContain('Denied');
    const told = await h.fake.waitFor('chat.postMessage', (c) => c.args.channel === `D${VIEWER}`);
    expect(textOf(told.args)).toContain('denied by <@UADMIN1>');
    expect(textOf(told.args)).not.toContain('<!channel>');
    const update = await h.fake.waitFor('chat.update');
    expect(textOf(update.args.blocks)).toContain('Denied by <@UADMIN1>');
    const url = await click(ADMIN2, actionIds.approveRequest, id);
    expect(textOf((await h.fake.waitFor('respond', (c) => c.url === url)).args)).toMatch(/Already denied/);
    expect(await keyExists(id)).toBe(false);
  });

  it(`lapses after REQUEST_TTL_DAYS (7) by the domain clock`, async () => {
    const id = await request();
    clock.advance(7 * DAY_MS + 1000);
    const url = await click(ADMIN, actionIds.approveRequest, id);
    expect(textOf((await h.fake.waitFor('respond', (c) => c.url === url)).args)).toMatch(/lapsed/);
    expect(await keyExists(id)).toBe(false);
    expect(textOf((await h.fake.waitFor('chat.update')).args.blocks)).toMatch(/Lapsed/);
  });

  it('a 500-character reason and a 64-character name stay within Block Kit limits: the request, the Deny modal, the outcome and both Homes', async () => {
    const why = `${'<@U1> *why* '.repeat(41)}`.slice(0, 500);
    const id = await request(VIEWER, why, h, 'W'.repeat(64));
    const post = h.fake.callsOf('chat.postMessage').at(-1)!;
    expect(messageProblems(post.args)).toEqual([]);
    expect(textOf(post.args.blocks)).not.toContain('<@U1>');
    const homeOf = async (userId: string) => {
      await h.send(appHomeOpened({ userId }));
      return (await h.fake.waitFor('views.publish', (c) => c.args.user_id === userId && textOf(c.args.view).includes('W'.repeat(64)))).args.view as any;
    };
    expect(viewProblems(await homeOf(ADMIN))).toEqual([]);
    await click(ADMIN, actionIds.denyRequest, id);
    const modal = await h.fake.waitFor('views.open');
    expect(viewProblems(modal.args.view as any)).toEqual([]);
    await h.submit({
      userId: ADMIN,
      callbackId: callbackIds.denyRequest,
      privateMetadata: (modal.args.view as { private_metadata: string }).private_metadata,
      values: { [blockIds.denyReason]: { [actionIds.denyReasonInput]: textInput(why) } },
    });
    expect(messageProblems((await h.fake.waitFor('chat.update')).args)).toEqual([]);
    h.fake.reset();
    expect(viewProblems(await homeOf(VIEWER))).toEqual([]);
  });
});

describe('App Home', () => {
  const homeOf = async (userId: string) => {
    h.fake.reset();
    await h.send(appHomeOpened({ userId }));
    return (await h.fake.waitFor('views.publish', (c) => c.args.user_id === userId)).args.view as { blocks: any[] };
  };

  it('admins see pending requests with Approve/Deny; the requester sees theirs with Cancel, and cancelling closes it', async () => {
    const id = await request(VIEWER, 'Home tab request for the CTI team');
    const adminHome = await homeOf(ADMIN);
    const approve = adminHome.blocks.flatMap((b) => b.elements ?? []).filter((e: any) => e.action_id === actionIds.approveRequest);
    expect(approve.map((e: any) => e.value)).toContain(id);
    const viewerHome = await homeOf(VIEWER);
    expect(textOf(viewerHome.blocks)).not.toContain(actionIds.approveRequest);
    const cancel = viewerHome.blocks.find((b) => b.accessory?.value === id)?.accessory;
    expect(cancel?.action_id).toBe(actionIds.cancelRequest);

    // Someone else's Cancel is refused.
    await h.click({
      userId: ADMIN2,
      actionId: actionIds.cancelRequest,
      value: id,
      container: { type: 'view', view_id: 'VHOME2' },
      view: { id: 'VHOME2', type: 'home' },
      triggerId: 'trig.cancel.other',
    });
    expect(textOf((await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.cancel.other')).args)).toMatch(/Only the person who asked/);
    expect(await h.core.requests.decisionOf(id)).toBeUndefined();

    await h.click({
      userId: VIEWER,
      actionId: actionIds.cancelRequest,
      value: id,
      container: { type: 'view', view_id: 'VHOME1' },
      view: { id: 'VHOME1', type: 'home' },
    });
    const republished = await h.fake.waitFor('views.publish', (c) => c.args.user_id === VIEWER && textOf(c.args.view).includes('cancelled'));
    expect(textOf(republished.args.view)).toContain('cancelled');
    expect(textOf((await h.fake.waitFor('chat.update')).args.blocks)).toContain('Cancelled by the requester');
    const url = await click(ADMIN, actionIds.approveRequest, id);
    expect(textOf((await h.fake.waitFor('respond', (c) => c.url === url)).args)).toMatch(/cancelled this request/);
    expect(await keyExists(id)).toBe(false);
    expect((await homeOf(ADMIN)).blocks.flatMap((b) => b.elements ?? []).map((e: any) => e.value)).not.toContain(id);
  });
});

describe('FOUR_EYES=true, REQUESTS_OPEN_TO_ALL=true', () => {
  let h4: SlackHarness;
  beforeAll(async () => {
    h4 = await startSlackHarness('slackreq4', {}, undefined, { APPROVALS_CHANNEL_ID: APPROVALS, FOUR_EYES: 'true', REQUESTS_OPEN_TO_ALL: 'true' });
    await h4.core.members.set({ communityId: TEAM, userId: ADMIN }, ADMIN2, 'admin');
  });
  afterAll(async () => {
    await h4?.close();
  });

  it("an admin's own request needs another admin", async () => {
    const id = await request(ADMIN, 'I need this for the SOAR migration', h4);
    const url = await click(ADMIN, actionIds.approveRequest, id, h4);
    expect(textOf((await h4.fake.waitFor('respond', (c) => c.url === url)).args)).toMatch(/another admin must approve/);
    expect(h4.fake.callsOf('chat.postEphemeral')).toEqual([]);
    await click(ADMIN2, actionIds.approveRequest, id, h4);
    const dm = await h4.fake.waitFor('chat.postEphemeral');
    expect(dm.args.user).toBe(ADMIN);
  });

  it('a workspace member who is not mapped may request; only an admin approves', async () => {
    h4.fake.reset();
    const id = await request(STRANGER, 'Our new team needs read access to CTI', h4);
    const url = await click(STRANGER, actionIds.approveRequest, id, h4);
    expect(textOf((await h4.fake.waitFor('respond', (c) => c.url === url)).args)).toMatch(/Only Keywarden admins/);
    await click(ADMIN, actionIds.approveRequest, id, h4);
    expect((await h4.fake.waitFor('chat.postEphemeral')).args.user).toBe(STRANGER);
  });
});
