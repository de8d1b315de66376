import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/index.js';
import { DAY_MS } from '../../src/keys/key-life.js';
import { HANDOUT_STALE_MS } from '../../src/requests/request-service.js';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { OffsetClock } from '../../src/util/clock.js';
import type { FakeSlackCall } from '../support/fake-slack.js';
import { obliterateQueues } from '../support/processes.js';
import { appHomeOpened, multiSelect, textInput } from '../support/slack-requests.js';
import { messageProblems, viewProblems } from '../unit/slack/block-kit-limits.js';
import { ADMIN, STRANGER, TEAM, VIEWER, addViewer, eventually, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

// The Collect key fallback, the pushed lapse and the repair of a half-done approval, through
// the real app (signed requests, fake Slack Web API) and real BullMQ workers in this process,
// sharing its moved clock; the request scan runs every 200 ms.
const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
const ADMIN2 = 'UADMIN2';
const APPROVALS = 'CAPPROVALS';
const clock = new OffsetClock();
let h: SlackHarness;
let workers: { close(): Promise<void> };
const prefix = `test-${randomUUID()}`;
/** Users whose DM Keywarden cannot open (`conversations.open` fails for them). */
const unreachable = new Set<string>();

beforeAll(async () => {
  h = await startSlackHarness('slackcollect', {}, clock, { APPROVALS_CHANNEL_ID: APPROVALS, QUEUE_PREFIX: prefix, SWEEP_INTERVAL_MS: '200' });
  await addViewer(h.core);
  await h.core.members.set({ communityId: TEAM, userId: ADMIN }, ADMIN2, 'admin');
  workers = await startWorkers(h.core);
});
afterAll(async () => {
  await workers?.close();
  await h?.close();
  await obliterateQueues(h.core.config.REDIS_URL, prefix).catch(() => undefined);
});
beforeEach(() => {
  h.fake.reset();
  unreachable.clear();
  h.fake.on('conversations.open', (c) =>
    unreachable.has(String(c.args.users)) ? { ok: false, error: 'cannot_dm_bot' } : { ok: true, channel: { id: `D${String(c.args.users)}` } },
  );
});

const values = (name: string) => ({
  [blockIds.name]: { [actionIds.nameInput]: textInput(name) },
  [blockIds.description]: { [actionIds.descriptionInput]: textInput('Pulls MISP events every hour') },
  [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['cti_connector']) },
  [blockIds.why]: { [actionIds.whyInput]: textInput('Our MISP instance needs to push sightings') },
});

async function request(name = 'MISP feed', userId = VIEWER): Promise<{ id: string; keyId: string; ts: string }> {
  await h.submit({ userId, callbackId: callbackIds.requestKey, values: values(name) });
  const post = await h.fake.waitFor('chat.postMessage', (c) => c.args.channel === APPROVALS && textOf(c.args.blocks).includes(name));
  const btn = (post.args.blocks as any[]).flatMap((b) => b.elements ?? []).find((e: any) => e.action_id === actionIds.approveRequest);
  const id = btn.value as string;
  const ts = await eventually(async () => (await h.core.requests.messagesOf(id))[0]?.ts);
  return { id, keyId: (await h.core.requests.find(TEAM, id))!.keyId, ts };
}

const approve = async (userId: string, id: string) => {
  const url = h.fake.responseUrl();
  await h.click({ userId, actionId: actionIds.approveRequest, value: id, container: { type: 'message', channel_id: APPROVALS }, responseUrl: url });
  return (await h.fake.waitFor('respond', (c) => c.url === url, 10_000)).args;
};

let triggers = 0;
/** A click of `Collect key` in the Home tab; returns the trigger id it carried. */
const collect = async (userId: string, id: string) => {
  const triggerId = `trig.collect.${++triggers}`;
  await h.click({
    userId,
    actionId: actionIds.collectKey,
    value: id,
    container: { type: 'view', view_id: `VH${userId}` },
    view: { id: `VH${userId}`, type: 'home' },
    triggerId,
  });
  return triggerId;
};
const modalOf = (triggerId: string) => h.fake.waitFor('views.open', (c) => c.args.trigger_id === triggerId, 10_000);
const secretModals = () => h.fake.callsOf('views.open').filter((c) => (c.args.view as { callback_id?: string }).callback_id === callbackIds.keyCollected);
const keyCount = (keyId: string) => h.core.mongo.models.apiKeys.countDocuments({ keyId });
/** The latest text of the request's copy in the approvals channel, once it matches. */
const copyMatches = (ts: string, re: RegExp) =>
  eventually(() => {
    const last = h.fake
      .callsOf('chat.update')
      .filter((c) => c.args.ts === ts)
      .at(-1);
    return last && re.test(textOf(last.args.blocks)) ? last : undefined;
  }, 15_000);
const homeOf = async (userId: string) => {
  const calls = () => h.fake.callsOf('views.publish').filter((c) => c.args.user_id === userId);
  const n = calls().length;
  await h.send(appHomeOpened({ userId }));
  return (await eventually(() => calls()[n])).args.view as { blocks: any[] };
};
/** The key's `request.collected` events, once there are any: recorded after the secret's modal opened (it was shown), so just after Slack saw it. */
const collectedEvents = (keyId: string) =>
  eventually(async () => {
    const events = (await h.core.audit.forTarget(TEAM, keyId)).filter((e) => e.action === 'request.collected');
    return events.length > 0 ? events : undefined;
  });
const dmsTo = (userId: string, re: RegExp): FakeSlackCall[] =>
  h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === `D${userId}` && re.test(textOf(c.args)));

describe('Collect key: the requester’s DM cannot be opened', () => {
  it('the approval is recorded, no key exists until the requester collects it; the secret is shown once, in a modal, only to them, and verifies', async () => {
    const { id, keyId, ts } = await request('Collected feed');
    unreachable.add(VIEWER);
    const told = await approve(ADMIN, id);
    expect(textOf(told)).toContain('collect the key with *Collect key*');
    await copyMatches(ts, new RegExp(`Approved by <@${ADMIN}> — waiting for <@${VIEWER}> to collect`));
    expect(await keyCount(keyId)).toBe(0);
    expect(h.fake.callsOf('chat.postEphemeral')).toEqual([]);

    const home = await homeOf(VIEWER);
    const button = home.blocks.find((b) => b.accessory?.action_id === actionIds.collectKey)?.accessory;
    expect(button?.value).toBe(id);
    expect(viewProblems(home)).toEqual([]);

    // A replayed click by anyone else: an admin (even the approver) or an unmapped user.
    for (const who of [ADMIN, ADMIN2, STRANGER]) {
      expect(textOf((await modalOf(await collect(who, id))).args.view)).toMatch(/Only the person who asked can collect/);
    }
    // The requester's own click, forged from another workspace: no such request there.
    const other = `trig.collect.other.${++triggers}`;
    await h.click({
      userId: VIEWER,
      teamId: 'T0OTHER',
      actionId: actionIds.collectKey,
      value: id,
      container: { type: 'view', view_id: 'VHO' },
      view: { id: 'VHO', type: 'home' },
      triggerId: other,
    });
    expect(textOf((await modalOf(other)).args.view)).toMatch(/No key request/);
    expect(await keyCount(keyId)).toBe(0);
    expect(secretModals()).toEqual([]);

    const modal = await modalOf(await collect(VIEWER, id));
    const token = TOKEN_RE.exec(textOf(modal.args.view))![0];
    expect(viewProblems(modal.args.view as any)).toEqual([]);
    expect(await h.core.keys.verify(token)).toMatchObject({ valid: true, key: { keyId, createdBy: VIEWER } });
    const created = (await h.core.audit.forTarget(TEAM, keyId)).find((e) => e.action === 'key.created')!;
    expect(created).toMatchObject({ actor: VIEWER, details: { approvedBy: ADMIN } });
    const received = await collectedEvents(keyId);
    expect(received).toMatchObject([{ actor: VIEWER, details: { requestId: id, via: 'modal' } }]);
    expect(received[0]!.details).not.toHaveProperty('reissued');
    await copyMatches(ts, new RegExp(`Approved by <@${ADMIN}> — \`${keyId}\``));

    // Again: nothing new is created or shown.
    expect(textOf((await modalOf(await collect(VIEWER, id))).args.view)).toMatch(/already collected this key/);
    expect(await keyCount(keyId)).toBe(1);
    expect(secretModals()).toHaveLength(1);

    // The token was in that one modal only: no message, update, reply, log line or document holds it.
    expect(textOf(h.fake.calls.filter((c) => c !== modal).map((c) => c.args))).not.toContain(token);
    expect(textOf(h.logs.lines)).not.toContain(token);
    expect(await h.dbDump()).not.toContain(token);
  });

  it('the DM opened but did not take the secret: the requester is told to collect, and Collect gives the one key a new secret', async () => {
    const { id, keyId, ts } = await request('Ephemeral failed');
    h.fake.failNext('chat.postEphemeral', 'user_not_in_channel');
    expect(textOf(await approve(ADMIN, id))).toContain('could not be shown to');
    expect(await keyCount(keyId)).toBe(1);
    await eventually(() => dmsTo(VIEWER, /Ephemeral failed.*Collect key/)[0]);
    await copyMatches(ts, new RegExp(`Approved by <@${ADMIN}> — \`${keyId}\``));
    const modal = await modalOf(await collect(VIEWER, id));
    const token = TOKEN_RE.exec(textOf(modal.args.view))![0];
    expect(await h.core.keys.verify(token)).toMatchObject({ valid: true, key: { keyId, createdBy: VIEWER } });
    expect(await keyCount(keyId)).toBe(1);
    // Told once, by the approval: the scan does not say it again.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(dmsTo(VIEWER, /Ephemeral failed.*Collect key/)).toHaveLength(1);
  });

  it('a Collect whose window could not be opened showed nothing: the next one works at once, with the same key', async () => {
    const { id, keyId } = await request('Modal failed');
    unreachable.add(VIEWER);
    await approve(ADMIN, id);
    h.fake.failNext('views.open', 'expired_trigger_id');
    await modalOf(await collect(VIEWER, id));
    await eventually(async () => ((await keyCount(keyId)) === 1 ? true : undefined));
    const modal = await eventually(async () => {
      const m = await modalOf(await collect(VIEWER, id));
      return TOKEN_RE.test(textOf(m.args.view)) ? m : undefined;
    });
    expect(await h.core.keys.verify(TOKEN_RE.exec(textOf(modal.args.view))![0])).toMatchObject({ valid: true, key: { keyId } });
    expect(await keyCount(keyId)).toBe(1);
  });

  it('two Collect clicks at the same moment make one key and show one secret', async () => {
    const { id, keyId } = await request('Double collect');
    unreachable.add(VIEWER);
    await approve(ADMIN, id);
    const [t1, t2] = await Promise.all([collect(VIEWER, id), collect(VIEWER, id)]);
    const [m1, m2] = await Promise.all([modalOf(t1), modalOf(t2)]);
    const shown = [m1, m2].filter((m) => TOKEN_RE.test(textOf(m.args.view)));
    expect(shown).toHaveLength(1);
    expect(textOf([m1, m2].find((m) => m !== shown[0])!.args.view)).toMatch(/being handed out right now|already collected/);
    expect(await keyCount(keyId)).toBe(1);
    expect(await h.core.keys.verify(TOKEN_RE.exec(textOf(shown[0]!.args.view))![0])).toMatchObject({ valid: true });
  });

  it('stays collectable for REQUEST_TTL_DAYS after the approval, then lapses: the copies say so and Collect creates nothing', async () => {
    const { id, keyId, ts } = await request('Never collected');
    unreachable.add(VIEWER);
    await approve(ADMIN, id);
    clock.advance(6 * DAY_MS);
    expect(await h.core.requests.status((await h.core.requests.find(TEAM, id))!)).toMatchObject({ state: 'approved', collectable: true });
    clock.advance(DAY_MS + 1_000);
    await copyMatches(ts, new RegExp(`Lapsed — approved by <@${ADMIN}>, but not collected within 7 days`));
    expect(textOf((await modalOf(await collect(VIEWER, id))).args.view)).toMatch(/approval lapsed/);
    expect(await keyCount(keyId)).toBe(0);
    clock.offsetMs = 0;
  });

  it('a removed approver’s approval no longer stands: Collect creates nothing', async () => {
    const ADMIN3 = 'UADMIN3';
    await h.core.members.set({ communityId: TEAM, userId: ADMIN }, ADMIN3, 'admin');
    const { id, keyId } = await request('Approver left');
    unreachable.add(VIEWER);
    await approve(ADMIN3, id);
    await h.core.members.remove({ communityId: TEAM, userId: ADMIN }, ADMIN3);
    expect(textOf((await modalOf(await collect(VIEWER, id))).args.view)).toMatch(/no longer a Keywarden admin/);
    expect(await keyCount(keyId)).toBe(0);
  });
});

describe('the request scan', () => {
  it('lapses an undecided request after REQUEST_TTL_DAYS with nobody clicking: every copy updated, the requester told once', async () => {
    const { id, keyId, ts } = await request('Forgotten request');
    clock.advance(7 * DAY_MS + 1_000);
    try {
      await copyMatches(ts, /Lapsed — no admin decided within 7 days/);
      const dm = await eventually(() => dmsTo(VIEWER, /Forgotten request.*lapsed/)[0], 10_000);
      expect(textOf(dm.args)).toContain('Forgotten request');
      expect(await h.core.requests.decisionOf(id)).toMatchObject({ decision: 'lapsed', by: 'keywarden' });
      expect((await h.core.audit.forTarget(TEAM, keyId)).map((e) => e.action)).toContain('request.lapsed');
      // Later passes change nothing: one notice.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(dmsTo(VIEWER, /Forgotten request.*lapsed/)).toHaveLength(1);
      expect(textOf(await approve(ADMIN, id))).toMatch(/lapsed/);
      expect(await keyCount(keyId)).toBe(0);
    } finally {
      clock.offsetMs = 0;
    }
  });
});

describe('an approval whose key creation died (decision recorded, nothing after it)', () => {
  /** What a process that died right after inserting the approval leaves behind. */
  async function halfApproved(name: string) {
    const r = await request(name);
    await h.core.mongo.models.requestDecisions.create({
      _id: `${r.id}:decision`,
      communityId: TEAM,
      requestId: r.id,
      decision: 'approved',
      by: ADMIN,
      at: new Date(clock.now()),
    });
    return r;
  }

  it('the scan shows it as waiting and tells the requester to collect; Collect creates the one key', async () => {
    const { id, keyId, ts } = await halfApproved('Crashed approval');
    await copyMatches(ts, new RegExp(`waiting for <@${VIEWER}> to collect`));
    await eventually(() => dmsTo(VIEWER, /Crashed approval.*Collect key/)[0], 10_000);
    const home = await homeOf(VIEWER);
    expect(home.blocks.find((b) => b.accessory?.action_id === actionIds.collectKey)?.accessory?.value).toBe(id);
    const modal = await modalOf(await collect(VIEWER, id));
    expect(await h.core.keys.verify(TOKEN_RE.exec(textOf(modal.args.view))![0])).toMatchObject({ valid: true, key: { keyId } });
    expect(await keyCount(keyId)).toBe(1);
  });

  it('the next Approve click says who approved and that it waits for the requester', async () => {
    const { id, ts } = await halfApproved('Clicked again');
    expect(textOf(await approve(ADMIN2, id))).toMatch(new RegExp(`Already approved by <@${ADMIN}>.*waiting for <@${VIEWER}> to collect it`));
    await copyMatches(ts, new RegExp(`waiting for <@${VIEWER}> to collect`));
  });

  it('after the key was created but before its secret was shown: Collect gives it a new secret, never a second key', async () => {
    const { id, keyId, ts } = await halfApproved('Created then crashed');
    // The dead process had claimed the hand-out and created the key; its secret died with it.
    await h.core.mongo.models.requestMarks.create({ _id: `${id}:claim:1`, requestId: id, kind: 'claim', n: 1, at: new Date(clock.now()), by: ADMIN });
    const request = (await h.core.requests.find(TEAM, id))!;
    const { token: lost } = await h.core.keys.create({ communityId: TEAM, userId: ADMIN }, request.input, { keyId, requestedBy: VIEWER });
    // While the dead hand-out could still be showing its secret, Collect waits.
    expect(textOf((await modalOf(await collect(VIEWER, id))).args.view)).toMatch(/being handed out right now/);
    clock.advance(HANDOUT_STALE_MS + 1_000);
    try {
      await eventually(() => dmsTo(VIEWER, /Collect key/).find((c) => textOf(c.args).includes('Created then crashed')), 10_000);
      await copyMatches(ts, new RegExp(`Approved by <@${ADMIN}> — \`${keyId}\``));
      const modal = await modalOf(await collect(VIEWER, id));
      const token = TOKEN_RE.exec(textOf(modal.args.view))![0];
      expect(await h.core.keys.verify(token)).toMatchObject({ valid: true, key: { keyId, createdBy: VIEWER } });
      expect(await h.core.keys.verify(lost)).toMatchObject({ valid: false, reason: 'rolled' });
      expect(await keyCount(keyId)).toBe(1);
      // The trail says the requester received a new secret, not only that the approver rolled the key.
      const received = await collectedEvents(keyId);
      expect(received).toMatchObject([{ actor: VIEWER, details: { via: 'modal', reissued: true } }]);
    } finally {
      clock.offsetMs = 0;
    }
  });
  it('a key created by a hand-out that died, never collected, is revoked by keywarden when the collect window ends', async () => {
    const { id, keyId, ts } = await halfApproved('Created never collected');
    await h.core.mongo.models.requestMarks.create({ _id: `${id}:claim:1`, requestId: id, kind: 'claim', n: 1, at: new Date(clock.now()), by: ADMIN });
    const request = (await h.core.requests.find(TEAM, id))!;
    const { token: lost } = await h.core.keys.create({ communityId: TEAM, userId: ADMIN }, request.input, { keyId, requestedBy: VIEWER });
    try {
      clock.advance(6 * DAY_MS);
      expect(await h.core.keys.verify(lost)).toMatchObject({ valid: true });
      clock.advance(DAY_MS + 1_000);
      await copyMatches(ts, /not collected within 7 days/);
      await eventually(async () => ((await h.core.keys.verify(lost)).valid === false ? true : undefined), 10_000);
      expect(await h.core.keys.verify(lost)).toMatchObject({ valid: false, reason: 'revoked' });
      const revoked = (await h.core.audit.forTarget(TEAM, keyId)).filter((e) => e.action === 'key.revoked');
      expect(revoked).toHaveLength(1);
      expect(revoked[0]).toMatchObject({ actor: 'keywarden', details: { reason: 'approval lapsed before the key was collected' } });
      expect(textOf((await modalOf(await collect(VIEWER, id))).args.view)).toMatch(/approval lapsed/);
      expect(await keyCount(keyId)).toBe(1);
    } finally {
      clock.offsetMs = 0;
    }
  });
});

describe('approvals made before hand-out claims existed', () => {
  it('a key the approval created and delivered in one step is not collectable again, and the scan settles it quietly', async () => {
    const { id, keyId, ts } = await request('Approved earlier');
    const request_ = (await h.core.requests.find(TEAM, id))!;
    await h.core.mongo.models.requestDecisions.create({
      _id: `${id}:decision`,
      communityId: TEAM,
      requestId: id,
      decision: 'approved',
      by: ADMIN,
      at: new Date(clock.now()),
    });
    await h.core.keys.create({ communityId: TEAM, userId: ADMIN }, request_.input, { keyId, requestedBy: VIEWER });
    await copyMatches(ts, new RegExp(`Approved by <@${ADMIN}> — \`${keyId}\``));
    await eventually(async () => ((await h.core.mongo.models.keyRequests.findById(id).lean())?.settledAt ? true : undefined), 10_000);
    expect(dmsTo(VIEWER, /Approved earlier/)).toEqual([]);
    expect((await homeOf(VIEWER)).blocks.find((b) => b.accessory?.value === id)).toBeUndefined();
    expect(textOf((await modalOf(await collect(VIEWER, id))).args.view)).toMatch(/already collected this key/);
  });
});

describe('Block Kit limits', () => {
  it('the request message in every state and the Home with long names and reasons stay within limits', async () => {
    const long = 'N'.repeat(64);
    const { id, ts } = await request(long);
    unreachable.add(VIEWER);
    await approve(ADMIN, id);
    const update = await copyMatches(ts, /waiting for/);
    expect(messageProblems(update.args as any)).toEqual([]);
    expect(messageProblems(h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === APPROVALS)!.args as any)).toEqual([]);
    expect(viewProblems(await homeOf(VIEWER))).toEqual([]);
  });
});
