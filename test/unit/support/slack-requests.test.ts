import { describe, it, expect } from 'vitest';
import { appHomeOpened, blockAction, multiSelect, parsePayload, sign, slashCommand, textInput, viewSubmission } from '../../support/slack-requests.js';

// Slack's published example (its docs, "Verifying requests from Slack"; docs/architecture.md "Slack facts").
const vector = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};

describe('sign', () => {
  it("reproduces Slack's published test vector", () => {
    expect(sign(vector.secret, vector.timestamp, vector.body)).toBe(vector.signature);
    expect(sign(vector.secret, Number(vector.timestamp), vector.body)).toBe(vector.signature);
  });

  it('changes when a byte of the body changes', () => {
    expect(sign(vector.secret, vector.timestamp, `${vector.body} `)).not.toBe(vector.signature);
  });
});

describe('slashCommand', () => {
  it('form-encodes every field Slack sends', () => {
    const body = slashCommand({ text: 'list revoked  a+b & c', userId: 'U1', responseUrl: 'http://x/respond/1' });
    const fields = Object.fromEntries(new URLSearchParams(body));
    expect(fields).toMatchObject({
      command: '/apikey',
      text: 'list revoked  a+b & c',
      user_id: 'U1',
      team_id: 'T0TEST',
      response_url: 'http://x/respond/1',
      is_enterprise_install: 'false',
    });
    for (const key of ['token', 'trigger_id', 'user_name', 'team_domain', 'channel_id', 'channel_name', 'api_app_id']) {
      expect(fields[key], key).toBeTruthy();
    }
    expect(fields.enterprise_id).toBeUndefined();
  });

  it('marks org-wide installs', () => {
    const fields = new URLSearchParams(slashCommand({ text: '', userId: 'U1', enterpriseId: 'E1', responseUrl: 'u' }));
    expect(fields.get('enterprise_id')).toBe('E1');
    expect(fields.get('is_enterprise_install')).toBe('true');
  });
});

describe('interaction payloads', () => {
  it('round-trip a block action through URLSearchParams', () => {
    const body = blockAction({
      userId: 'U1',
      actionId: 'key_revoke',
      blockId: 'key_row',
      value: 'k_1 & "quoted" +plus ünï',
      container: { type: 'message', message_ts: '1.000001' },
      responseUrl: 'http://127.0.0.1:1/respond/a',
    });
    expect(body.startsWith('payload=')).toBe(true);
    const payload = parsePayload(body);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U1', team_id: 'T0TEST' },
      team: { id: 'T0TEST' },
      enterprise: null,
      container: { type: 'message', message_ts: '1.000001', channel_id: 'C0TEST' },
      response_url: 'http://127.0.0.1:1/respond/a',
      actions: [{ type: 'button', action_id: 'key_revoke', block_id: 'key_row', value: 'k_1 & "quoted" +plus ünï' }],
    });
    expect(payload.view).toBeUndefined();
  });

  it('gives view-container actions a view and no response_url', () => {
    const payload = parsePayload(
      blockAction({
        userId: 'U1',
        enterpriseId: 'E1',
        actionId: 'status_filter',
        selectedOption: { value: 'revoked', text: 'Revoked' },
        container: { type: 'view', view_id: 'VHOME' },
        view: { type: 'home' },
      }),
    );
    expect(payload).toMatchObject({
      container: { type: 'view', view_id: 'VHOME' },
      view: { id: 'VHOME', type: 'home' },
      enterprise: { id: 'E1' },
      is_enterprise_install: true,
      actions: [{ type: 'static_select', selected_option: { value: 'revoked', text: { text: 'Revoked' } } }],
    });
    expect(payload.response_url).toBeUndefined();
  });

  it('builds a view submission with state values', () => {
    const values = {
      name: { name_input: textInput('CTI connector') },
      roles: { roles_select: multiSelect(['ic_viewer', { text: 'Admin', value: 'admin' }]) },
    };
    const payload = parsePayload(viewSubmission({ userId: 'U1', callbackId: 'key_create', privateMetadata: '{"a":1}', values }));
    expect(payload).toMatchObject({
      type: 'view_submission',
      view: { callback_id: 'key_create', private_metadata: '{"a":1}', state: { values } },
    });
    expect(values.roles.roles_select).toEqual({
      type: 'multi_static_select',
      selected_options: [
        { text: { type: 'plain_text', text: 'ic_viewer', emoji: true }, value: 'ic_viewer' },
        { text: { type: 'plain_text', text: 'Admin', emoji: true }, value: 'admin' },
      ],
    });
  });

  it('wraps app_home_opened in an event_callback envelope', () => {
    expect(JSON.parse(appHomeOpened({ userId: 'U1' }))).toMatchObject({
      type: 'event_callback',
      team_id: 'T0TEST',
      event: { type: 'app_home_opened', user: 'U1', tab: 'home' },
    });
  });
});
