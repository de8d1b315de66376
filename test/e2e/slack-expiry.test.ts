import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, shortDate } from '../../src/keys/key-life.js';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { OffsetClock } from '../../src/util/clock.js';
import { appHomeOpened, datePicker, multiSelect, staticSelect, textInput, type ViewStateValue } from '../support/slack-requests.js';
import { ADMIN, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
const clock = new OffsetClock();
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('slackexpiry', {}, clock);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

function values(name: string, expires: string | null, date?: string | null): Record<string, Record<string, ViewStateValue>> {
  return {
    [blockIds.name]: { [actionIds.nameInput]: textInput(name) },
    [blockIds.description]: { [actionIds.descriptionInput]: textInput('Pulls CTI feeds every hour') },
    [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['cti_connector']) },
    [blockIds.expires]: { [actionIds.expiresInput]: staticSelect(expires) },
    [blockIds.expiresOn]: { [actionIds.expiresOnInput]: datePicker(date ?? null) },
  };
}
const submit = (name: string, expires: string | null, date?: string | null) =>
  h.submit({ userId: ADMIN, callbackId: callbackIds.createKey, values: values(name, expires, date) });
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const keyCount = () => h.core.mongo.models.apiKeys.countDocuments({});

/** Creates a key through the modal and returns its keyId and secret (from the DM). */
async function createThroughModal(name: string, expires: string, date?: string) {
  const res = await submit(name, expires, date);
  expect((res.json as { response_action: string }).response_action).toBe('update');
  const dm = await h.fake.waitFor('chat.postEphemeral');
  const token = TOKEN_RE.exec(textOf(dm.args.blocks))![0];
  const keyId = /ak_[a-z0-9]+/.exec(textOf(dm.args.blocks))![0];
  // The Home refresh that follows a create, so that it does not land in the next test.
  await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
  h.fake.reset();
  return { token, keyId };
}

describe('a key created with 30 days', () => {
  it('reads "Expires in 30 days (…)" on the list, show, the key modal and Home; once the clock passes it, it is expired everywhere', async () => {
    const { keyId, token } = await createThroughModal('Thirty day key', '30');
    const expiresAt = (await h.core.keyRepo.findByKeyId(keyId))!.expiresAt!;
    expect(Math.abs(expiresAt.getTime() - (clock.now() + 30 * DAY_MS))).toBeLessThan(60_000);
    const expect30 = `Expires in 30 days (${shortDate(expiresAt)})`;

    const list = await h.command(ADMIN, 'list');
    expect(textOf(list.reply.args.blocks)).toContain(expect30);
    const show = await h.command(ADMIN, `show ${keyId}`);
    expect(textOf(show.reply.args.blocks)).toContain(expect30);
    await h.click({
      userId: ADMIN,
      actionId: actionIds.editKey,
      value: keyId,
      triggerId: 'trig.edit.30',
      container: { type: 'message' },
      responseUrl: h.fake.responseUrl(),
    });
    const modal = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === 'trig.edit.30');
    expect(textOf(modal.args.view)).toContain(expect30);
    await h.send(appHomeOpened({ userId: ADMIN }));
    const home = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    expect(textOf(home.args.view)).toContain(expect30);
    expect((await h.core.keys.verify(token)).valid).toBe(true);

    // The clock reaches the expiry instant.
    clock.advance(expiresAt.getTime() - clock.now());
    expect(await h.core.keys.verify(token)).toEqual({ valid: false, reason: 'expired', keyId });
    h.fake.reset();
    const active = await h.command(ADMIN, 'list');
    expect(textOf(active.reply.args.blocks)).not.toContain(keyId);
    const expired = await h.command(ADMIN, 'list expired');
    expect(textOf(expired.reply.args.blocks)).toContain(keyId);
    expect(textOf(expired.reply.args.blocks)).toContain(`Expired ${shortDate(expiresAt)}`);
    // The Home filter offers Expired and shows it there.
    await h.click({
      userId: ADMIN,
      actionId: actionIds.homeStatus,
      selectedOption: { value: 'expired' },
      container: { type: 'view', view_id: 'VHOME9' },
      view: { type: 'home', callback_id: callbackIds.home, private_metadata: '' },
    });
    const filtered = await h.fake.waitFor('views.publish', (c) => c.args.user_id === ADMIN);
    expect(textOf(filtered.args.view)).toContain(keyId);
    expect(textOf(filtered.args.view)).toContain(':hourglass: Expired');
    expect(textOf(filtered.args.view)).toMatch(/"text":"Expired","emoji":true\},"value":"expired"/);
    // An expired key is not revoked (its end was already announced): the admin is told why.
    const revoke = await h.command(ADMIN, `revoke ${keyId}`);
    expect(textOf(revoke.reply.args)).toMatch(/already expired on .*Nothing to revoke/);
    expect((await h.core.keyRepo.findByKeyId(keyId))!.status).toBe('active');
  });

  it('Never reads "Never expires"; a date reads its own', async () => {
    const never = await createThroughModal('Forever key', 'never');
    const show = await h.command(ADMIN, `show ${never.keyId}`);
    expect(textOf(show.reply.args.blocks)).toContain('Never expires');
    const day = utcDay(clock.now() + 12 * DAY_MS + DAY_MS);
    const dated = await createThroughModal('Dated key', 'date', day);
    expect((await h.core.keyRepo.findByKeyId(dated.keyId))!.expiresAt!.toISOString()).toBe(`${day}T00:00:00.000Z`);
  });
});

describe('the datepicker errors come back inline on the date, and nothing is created', () => {
  it.each([
    ['On a date without a date', () => null, /Pick the date/],
    ['today', () => utcDay(clock.now()), /after today and at most two years out/],
    ['yesterday', () => utcDay(clock.now() - DAY_MS), /after today/],
    ['more than two years out', () => utcDay(clock.now() + 732 * DAY_MS), /at most two years out/],
  ])('%s', async (_n, date, message) => {
    const before = await keyCount();
    const res = await submit('Dated key', 'date', date());
    const ack = res.json as { response_action: string; errors: Record<string, string> };
    expect(ack.response_action).toBe('errors');
    expect(Object.keys(ack.errors)).toEqual([blockIds.expiresOn]);
    expect(ack.errors[blockIds.expiresOn]).toMatch(message);
    expect(await keyCount()).toBe(before);
    expect(h.fake.calls).toEqual([]);
  });

  it('a date is ignored unless Expires says "On a date"', async () => {
    const { keyId } = await createThroughModal('Preset wins', '90', utcDay(clock.now() - DAY_MS));
    const key = await h.core.keyRepo.findByKeyId(keyId);
    expect(Math.round((key!.expiresAt!.getTime() - clock.now()) / DAY_MS)).toBe(90);
  });
});
