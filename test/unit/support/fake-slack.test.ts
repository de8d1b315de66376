import { afterAll, beforeAll, beforeEach, describe, it, expect } from 'vitest';
import { WebClient } from '@slack/web-api';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.js';

describe('fake Slack', () => {
  let fake: FakeSlack;
  let client: WebClient;

  beforeAll(async () => {
    fake = await startFakeSlack();
    client = new WebClient('xoxb-test', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('answers auth.test as Slack does', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({ ok: true, team_id: 'T0TEST', user_id: 'UBOT', bot_id: 'BBOT' });
    expect(fake.callsOf('auth.test')[0]?.token).toBe('xoxb-test');
  });

  it('records views.open with the view parsed from its form field', async () => {
    const view = {
      type: 'modal' as const,
      callback_id: 'key_create',
      title: { type: 'plain_text' as const, text: 'New API key' },
      blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'a & b = c+d' } }],
    };
    const result = await client.views.open({ trigger_id: '1.2.abc', view });
    const call = await fake.waitFor('views.open');
    expect(call.args).toEqual({ trigger_id: '1.2.abc', view });
    expect(call.token).toBe('xoxb-test');
    expect(result.view).toMatchObject({ callback_id: 'key_create' });
    expect(result.view?.id).toMatch(/^V/);

    const updated = await client.views.update({ view_id: result.view?.id ?? '', view });
    expect(updated.view?.id).toBe(result.view?.id);
  });

  it('gives chat.postMessage increasing timestamps', async () => {
    const first = await client.chat.postMessage({ channel: 'C1', text: 'one' });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'two' });
    expect(first).toMatchObject({ ok: true, channel: 'C1', message: { text: 'one' } });
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
  });

  it('fails the next call of a method with the given error, then recovers', async () => {
    fake.failNext('chat.postEphemeral', 'user_not_in_channel');
    await expect(client.chat.postEphemeral({ channel: 'D1', user: 'U1', text: 'secret' })).rejects.toMatchObject({
      data: { ok: false, error: 'user_not_in_channel' },
    });
    const ok = await client.chat.postEphemeral({ channel: 'D1', user: 'U1', text: 'secret' });
    expect(ok.message_ts).toBeTruthy();
    expect(fake.callsOf('chat.postEphemeral')).toHaveLength(2);
  });

  it('answers conversations.open and users.info with the documented shapes', async () => {
    expect((await client.conversations.open({ users: 'U1' })).channel?.id).toBe('DU1');
    expect((await client.users.info({ user: 'U1' })).user).toMatchObject({ id: 'U1', profile: { email: expect.any(String) } });
  });

  it('records JSON posted to a response URL', async () => {
    const url = fake.responseUrl('cmd-1');
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', text: 'hi' }),
    });
    expect(response.status).toBe(200);
    const call = await fake.waitFor('respond', (c) => c.url === url);
    expect(call.args).toEqual({ response_type: 'ephemeral', text: 'hi' });
  });

  it('rejects waitFor with the methods it saw', async () => {
    await client.auth.test();
    await expect(fake.waitFor('views.publish', undefined, 50)).rejects.toThrow(/views\.publish.*auth\.test/);
  });
});
