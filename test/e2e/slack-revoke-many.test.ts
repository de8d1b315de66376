import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOKE_MAX } from '../../src/slack/commands/grammar.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { actionIds, blockIds } from '../../src/slack/ids.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger } from '../support/services.js';
import { blockAction, sendSigned, slashCommand, staticSelect } from '../support/slack-requests.js';
import { messageProblems } from '../unit/slack/block-kit-limits.js';
import { actionIdsIn, textOf } from './slack-harness.js';

const TEAM = 'T0TEST';
const OTHER_TEAM = 'T0OTHER';
const ADMIN = 'UADMIN1';
const VIEWER = 'UVIEWER1';
const STRANGER = 'USTRANGER1';
const admin = { communityId: TEAM, userId: ADMIN };
// ADMIN_SLACK_USER_IDS makes UADMIN1 an admin of every workspace it appears in, this one too.
const otherAdmin = { communityId: OTHER_TEAM, userId: ADMIN };

/**
 * `/apikey revoke <keyId> <keyId>… [reason…]` end to end: signed Slack requests to the app
 * over HTTP, the fake Slack Web API, real MongoDB and Redis, and the BullMQ workers sending
 * each dependent its webhook.
 */
describe('/apikey revoke with several keys', () => {
  const logs = captureLogger('debug');
  let stack: JobsStack;
  let slack: SlackApp;
  let server: Server;
  let baseUrl: string;
  let secret: string;

  beforeAll(async () => {
    stack = await startJobsStack('revokemany', logs.log, {
      NOTIFY_CHANNEL_ID: 'C0NOTIFY',
      WEBHOOK_RETRY_SCHEDULE: '100,200',
      SWEEP_INTERVAL_MS: '300',
      SWEEP_GRACE_MS: '1000',
    });
    slack = await createSlackApp(stack.core, { retryConfig: { retries: 0 } });
    server = createServer((req, res) => slack.requestListener!(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    secret = stack.config.SLACK_SIGNING_SECRET;
    await stack.core.members.set(admin, VIEWER, 'viewer');
  }, 60_000);

  afterAll(async () => {
    await slack?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await stack?.close();
  });

  const command = async (userId: string, text: string) => {
    const responseUrl = stack.slack.responseUrl();
    const res = await sendSigned(baseUrl, slashCommand({ text, userId, responseUrl }), { secret });
    expect(res.status).toBe(200);
    const reply = await stack.slack.waitFor('respond', (c) => c.url === responseUrl, 15_000);
    return { reply, responseUrl };
  };
  const clickRevokeMany = async (userId: string, value: string, responseUrl: string, state?: Parameters<typeof blockAction>[0]['state']) => {
    const res = await sendSigned(
      baseUrl,
      blockAction({ userId, actionId: actionIds.revokeKeys, blockId: blockIds.keyActions, value, container: { type: 'message' }, responseUrl, state }),
      { secret },
    );
    expect(res.status).toBe(200);
    return stack.slack.waitFor('respond', (c) => c.url === responseUrl && c.args.replace_original === true, 20_000);
  };
  const buttonOf = (blocks: unknown) => {
    const actions = (blocks as any[]).find((b) => b.block_id === blockIds.keyActions);
    return actions?.elements.find((e: any) => e.action_id === actionIds.revokeKeys) as { value: string; text: { text: string } } | undefined;
  };
  const newKey = async (name: string, actor = admin) =>
    (await stack.core.keys.create(actor, { name, description: 'Pulls indicators for the incident drill', roles: ['ic_viewer'] })).key;
  const statusOf = async (keyId: string) => (await stack.core.keyRepo.findByKeyId(keyId))?.status;

  it('revokes several keys after ONE confirmation; each is announced as if alone and every dependent of each is told', async () => {
    const keys = [];
    const secrets = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      const key = await newKey(`Incident connector ${i}`);
      for (let d = 0; d < 2; d++) {
        const path = `/many/${key.keyId}/${d}`;
        const { secret: s } = await stack.core.dependents.link(admin, {
          keyId: key.keyId,
          kind: d ? 'cti_connector' : 'playbook',
          name: `dep ${i}.${d}`,
          url: stack.receivers.url(path),
        });
        secrets.set(path, s);
      }
      keys.push(key);
    }
    const ids = keys.map((k) => k.keyId);

    const { reply, responseUrl } = await command(ADMIN, `revoke ${ids.join(' ')} ${ids[0]} compromised`);
    expect(messageProblems(reply.args as { text?: string; blocks?: unknown[] })).toEqual([]);
    const shown = textOf(reply.args.blocks);
    for (const k of keys) expect(shown).toContain(k.keyId);
    expect(shown).toContain('these 3 API keys');
    expect(shown).toContain('Reason: compromised');
    expect(actionIdsIn(reply.args.blocks).filter((a) => a === actionIds.revokeKeys)).toHaveLength(1);
    const button = buttonOf(reply.args.blocks)!;
    expect(button.text.text).toBe('Revoke 3 keys');
    // One confirmation only, and nothing revoked by asking.
    await new Promise((r) => setTimeout(r, 200));
    expect(stack.slack.callsOf('respond').filter((c) => c.url === responseUrl)).toHaveLength(1);
    for (const id of ids) expect(await statusOf(id)).toBe('active');

    const result = await clickRevokeMany(ADMIN, button.value, responseUrl);
    expect(result.args.replace_original).toBe(true);
    expect(result.args.response_type ?? 'ephemeral').toBe('ephemeral');
    const said = textOf(result.args.blocks);
    expect(said).toContain('Revoked 3 of 3 keys. Reason: compromised.');
    for (const k of keys) expect(said).toContain(`:no_entry: Revoked *${k.name}* (\`${k.keyId}\`). It no longer works`);

    for (const k of keys) {
      const done = await waitForNotificationDone(stack.core, k.keyId);
      expect(done).toMatchObject({ status: 'revoked', revokedBy: ADMIN, reason: 'compromised' });
      expect(done.notification).toMatchObject({ state: 'done', total: 2, delivered: 2 });
      const events = await stack.core.audit.forTarget(TEAM, k.keyId);
      expect(events.filter((e) => e.action === 'key.revoked')).toHaveLength(1);
      // Its own notice in the channel, as a single revoke would post.
      expect(stack.slack.callsOf('chat.postMessage').some((c) => c.args.channel === 'C0NOTIFY' && textOf(c.args).includes(k.keyId))).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive by now
    for (const [path, s] of secrets) {
      const got = stack.receivers.receivedOn(path);
      expect(got, path).toHaveLength(1);
      const h = got[0]!.headers;
      const event = new Webhook(s).verify(got[0]!.body, {
        'webhook-id': String(h['webhook-id']),
        'webhook-timestamp': String(h['webhook-timestamp']),
        'webhook-signature': String(h['webhook-signature']),
      }) as { type: string; data: { keyId: string; reason?: string } };
      expect(event).toMatchObject({ type: 'api_key.revoked', data: { keyId: path.split('/')[2], reason: 'compromised' } });
    }

    // The same click again (Slack retries, a double click): every key says it was already revoked.
    const again = await clickRevokeMany(ADMIN, button.value, stack.slack.responseUrl());
    expect(textOf(again.args.blocks)).toContain('Revoked 0 of 3 keys.');
    expect(textOf(again.args.blocks).match(/was already revoked by <@UADMIN1>/g)).toHaveLength(3);
  }, 90_000);

  it('reports unknown, other-workspace and already-revoked keys one by one, and revokes the rest', async () => {
    const live = await newKey('Still live');
    const gone = await newKey('Revoked earlier');
    await stack.core.keys.revoke(admin, gone.keyId, { reason: 'replaced' });
    const theirs = await newKey('Another workspace key', otherAdmin);
    const unknown = 'ak_zzzzzzzzzzzz';

    const { reply, responseUrl } = await command(ADMIN, `revoke ${live.keyId} ${gone.keyId} ${theirs.keyId} ${unknown}`);
    const shown = textOf(reply.args.blocks);
    expect(shown).toContain('Revoke this API key?');
    expect(shown).toContain(`\`${unknown}\`: no such key in this workspace.`);
    expect(shown).toContain(`\`${theirs.keyId}\`: no such key in this workspace.`);
    // Nothing about the other workspace's key leaks: not its name.
    expect(shown).not.toContain('Another workspace key');
    expect(shown).toContain(`*Revoked earlier* (\`${gone.keyId}\`) was already revoked by <@UADMIN1>`);
    const button = buttonOf(reply.args.blocks)!;
    expect(button.text.text).toBe('Revoke 1 key');

    const result = await clickRevokeMany(ADMIN, button.value, responseUrl, {
      [blockIds.keyActions]: { [actionIds.revokeReason]: staticSelect('no_longer_used') },
    });
    const said = textOf(result.args.blocks);
    expect(said).toContain('Revoked 1 of 4 keys. Reason: no longer used.');
    expect(said).toContain(`Revoked *Still live* (\`${live.keyId}\`)`);
    expect(said).toContain(`*Revoked earlier* (\`${gone.keyId}\`) was already revoked by <@UADMIN1>`);
    expect(said).toContain(`\`${theirs.keyId}\`: no such key in this workspace. Nothing changed.`);
    expect(said).toContain(`\`${unknown}\`: no such key in this workspace. Nothing changed.`);
    expect(await stack.core.keyRepo.findByKeyId(live.keyId)).toMatchObject({ status: 'revoked', reason: 'no_longer_used' });
    expect(await stack.core.keyRepo.findByKeyId(gone.keyId)).toMatchObject({ status: 'revoked', reason: 'replaced' });
    expect(await statusOf(theirs.keyId)).toBe('active');
  }, 60_000);

  it(`takes ${REVOKE_MAX} keys in one confirmation within Block Kit's limits, and refuses ${REVOKE_MAX + 1} whole`, async () => {
    const keys = [];
    for (let i = 0; i <= REVOKE_MAX; i++) keys.push(await newKey(`${'Bulk key with a long and descriptive name '.slice(0, 40)} ${i} & <co>`));
    const ids = keys.map((k) => k.keyId);

    const over = await command(ADMIN, `revoke ${ids.join(' ')} leaked in a paste`);
    expect(textOf(over.reply.args)).toContain(`At most ${REVOKE_MAX} keys at once: you gave ${REVOKE_MAX + 1}. Nothing was revoked`);
    expect(actionIdsIn(over.reply.args.blocks)).toEqual([]);
    for (const id of ids) expect(await statusOf(id)).toBe('active');

    const fifty = ids.slice(0, REVOKE_MAX);
    const { reply, responseUrl } = await command(ADMIN, `revoke ${fifty.join(' ')} leaked in a paste`);
    expect(messageProblems(reply.args as { text?: string; blocks?: unknown[] })).toEqual([]);
    for (const id of fifty) expect(textOf(reply.args.blocks)).toContain(id);
    const button = buttonOf(reply.args.blocks)!;
    expect(button.text.text).toBe(`Revoke ${REVOKE_MAX} keys`);
    const result = await clickRevokeMany(ADMIN, button.value, responseUrl);
    expect(messageProblems(result.args as { text?: string; blocks?: unknown[] })).toEqual([]);
    expect(textOf(result.args.blocks)).toContain(`Revoked ${REVOKE_MAX} of ${REVOKE_MAX} keys. Reason: leaked in a paste.`);
    for (const id of fifty) expect(await statusOf(id)).toBe('revoked');
    expect(await statusOf(ids[REVOKE_MAX]!)).toBe('active');
  }, 120_000);

  describe('attacks on the confirmation click', () => {
    it("a viewer replaying an admin's click is refused on the server, and nothing changes", async () => {
      const keys = [await newKey('Replay target one'), await newKey('Replay target two')];
      const { reply } = await command(ADMIN, `revoke ${keys.map((k) => k.keyId).join(' ')}`);
      const button = buttonOf(reply.args.blocks)!;
      for (const who of [VIEWER, STRANGER]) {
        const responseUrl = stack.slack.responseUrl();
        await sendSigned(
          baseUrl,
          blockAction({
            userId: who,
            actionId: actionIds.revokeKeys,
            blockId: blockIds.keyActions,
            value: button.value,
            container: { type: 'message' },
            responseUrl,
          }),
          { secret },
        );
        const refusal = await stack.slack.waitFor('respond', (c) => c.url === responseUrl);
        expect(textOf(refusal.args)).toContain('Only Keywarden admins can revoke API keys');
      }
      for (const k of keys) expect(await statusOf(k.keyId)).toBe('active');
    });

    it('a viewer typing the command gets no confirmation, only why', async () => {
      const keys = [await newKey('Viewer asks one'), await newKey('Viewer asks two')];
      const { reply } = await command(VIEWER, `revoke ${keys.map((k) => k.keyId).join(' ')} compromised`);
      expect(textOf(reply.args)).toContain('Only Keywarden admins can revoke API keys');
      expect(actionIdsIn(reply.args.blocks)).toEqual([]);
      for (const k of keys) expect(await statusOf(k.keyId)).toBe('active');
    });

    it("another workspace's keyIds in a forged value revoke nothing there", async () => {
      const theirs = [await newKey('Theirs one', otherAdmin), await newKey('Theirs two', otherAdmin)];
      const forged = JSON.stringify({ k: theirs.map((k) => k.keyId) });
      const result = await clickRevokeMany(ADMIN, forged, stack.slack.responseUrl());
      expect(textOf(result.args.blocks)).toContain('Revoked 0 of 2 keys.');
      for (const k of theirs) expect(await statusOf(k.keyId)).toBe('active');
    });

    it('malformed, oversized or padded values are refused whole, before any key is touched', async () => {
      const target = await newKey('Forgery target');
      const many = Array.from({ length: REVOKE_MAX + 1 }, (_, i) => (i === 0 ? target.keyId : `ak_${i.toString(36).padStart(12, '0')}`));
      for (const value of [
        'not json',
        JSON.stringify({ k: many }),
        JSON.stringify({ k: [target.keyId, target.keyId] }),
        JSON.stringify({ k: [target.keyId, 'x'.repeat(65)] }),
        JSON.stringify({ k: [target.keyId, { $ne: null }] }),
        JSON.stringify({ k: [target.keyId, 'ak_0000000000zz'], r: 'x'.repeat(301) }),
        JSON.stringify({ k: target.keyId }),
      ]) {
        const responseUrl = stack.slack.responseUrl();
        await sendSigned(
          baseUrl,
          blockAction({ userId: ADMIN, actionId: actionIds.revokeKeys, blockId: blockIds.keyActions, value, container: { type: 'message' }, responseUrl }),
          { secret },
        );
        const refusal = await stack.slack.waitFor('respond', (c) => c.url === responseUrl);
        expect(textOf(refusal.args), value.slice(0, 60)).toContain('That button is not one Keywarden made. Nothing was revoked.');
      }
      expect(await statusOf(target.keyId)).toBe('active');
    });

    it('an unsigned or wrongly signed click is refused before anything runs', async () => {
      const keys = [await newKey('Unsigned one'), await newKey('Unsigned two')];
      const body = blockAction({
        userId: ADMIN,
        actionId: actionIds.revokeKeys,
        blockId: blockIds.keyActions,
        value: JSON.stringify({ k: keys.map((k) => k.keyId) }),
        container: { type: 'message' },
        responseUrl: stack.slack.responseUrl(),
      });
      const res = await sendSigned(baseUrl, body, { secret: 'not-the-signing-secret' });
      expect(res.status).toBe(401);
      for (const k of keys) expect(await statusOf(k.keyId)).toBe('active');
    });

    it('a command of thousands of keyIds gets the clear refusal, not a confirmation', async () => {
      const ids = Array.from({ length: 5000 }, (_, i) => `ak_${(i + 1000).toString(36).padStart(12, '0')}`);
      const { reply } = await command(ADMIN, `revoke ${ids.join(' ')}`);
      expect(textOf(reply.args)).toContain(`At most ${REVOKE_MAX} keys at once: you gave 5000. Nothing was revoked`);
      expect(actionIdsIn(reply.args.blocks)).toEqual([]);
    });
  });

  it('one keyId keeps the single form: the same confirmation and button as before', async () => {
    const key = await newKey('Single form');
    const { reply } = await command(ADMIN, `revoke ${key.keyId} moved to the vault`);
    expect(actionIdsIn(reply.args.blocks)).toEqual([actionIds.revokeKey, actionIds.revokeReason]);
    expect(textOf(reply.args.blocks)).toContain('Reason: moved to the vault');
  });
});
