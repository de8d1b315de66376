import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIds, blockIds } from '../../src/slack/ids.js';
import { staticSelect } from '../support/slack-requests.js';
import { ADMIN, TEAM, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const admin = { communityId: TEAM, userId: ADMIN };

describe('a person gives a reason when revoking', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness('revokereason');
  });
  afterAll(async () => {
    await h?.close();
  });
  const newKey = async (name: string) => (await h.core.keys.create(admin, { name, description: 'Pulls indicators from the feed', roles: ['ic_viewer'] })).key;
  const revokeButtonOf = (blocks: unknown) =>
    (blocks as any[]).find((b) => b.block_id === blockIds.keyActions).elements.find((e: any) => e.action_id === actionIds.revokeKey);

  it('/apikey revoke <keyId> <free text>: the confirmation shows it, the click stores it in the key and its audit event', async () => {
    const key = await newKey('Feed puller');
    const { reply, responseUrl } = await h.command(ADMIN, `revoke ${key.keyId} moved to the <new> vault`);
    expect(textOf(reply.args.blocks)).toContain('Reason: moved to the &lt;new&gt; vault');
    const button = revokeButtonOf(reply.args.blocks);
    await h.click({
      userId: ADMIN,
      actionId: actionIds.revokeKey,
      blockId: blockIds.keyActions,
      value: button.value,
      container: { type: 'message' },
      responseUrl,
    });
    const done = await h.fake.waitFor('respond', (c) => c.url === responseUrl && textOf(c.args).includes('Revoked'));
    expect(textOf(done.args.blocks)).toContain('Reason: moved to the &lt;new&gt; vault.');
    expect(await h.core.keyRepo.findByKeyId(key.keyId)).toMatchObject({ status: 'revoked', reason: 'moved to the <new> vault' });
    const events = await h.core.audit.forTarget(TEAM, key.keyId);
    expect(events.find((e) => e.action === 'key.revoked')?.details).toMatchObject({ reason: 'moved to the <new> vault' });
  });

  it('the reason picked in the select beside Revoke wins over none typed (confirmation message and key modal)', async () => {
    const inMessage = await newKey('Picked in message');
    const { reply, responseUrl } = await h.command(ADMIN, `revoke ${inMessage.keyId}`);
    const button = revokeButtonOf(reply.args.blocks);
    await h.click({
      userId: ADMIN,
      actionId: actionIds.revokeKey,
      blockId: blockIds.keyActions,
      value: button.value,
      container: { type: 'message' },
      responseUrl,
      state: { [blockIds.keyActions]: { [actionIds.revokeReason]: staticSelect('compromised') } },
    });
    await h.fake.waitFor('respond', (c) => c.url === responseUrl && textOf(c.args).includes('Revoked'));
    expect((await h.core.keyRepo.findByKeyId(inMessage.keyId))?.reason).toBe('compromised');

    const inModal = await newKey('Picked in modal');
    await h.click({
      userId: ADMIN,
      actionId: actionIds.revokeKey,
      blockId: blockIds.keyActions,
      value: inModal.keyId,
      container: { type: 'view', view_id: 'VKEY1' },
      view: {
        type: 'modal',
        private_metadata: JSON.stringify({ k: inModal.keyId }),
        state: { values: { [blockIds.keyActions]: { [actionIds.revokeReason]: staticSelect('no_longer_used') } } },
      },
    });
    const update = await h.fake.waitFor('views.update', (c) => textOf(c.args.view).includes(inModal.keyId));
    expect(textOf(update.args.view)).toContain('Reason: no longer used');
    expect((await h.core.keyRepo.findByKeyId(inModal.keyId))?.reason).toBe('no_longer_used');
  });
});
