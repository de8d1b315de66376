import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.js';
import { multiSelect, nowSeconds, slashCommand, textInput } from '../support/slack-requests.js';
import { ADMIN, startSlackHarness, textOf, type SlackHarness } from './slack-harness.js';

const TOKEN_RE = /kw_[0-9A-Za-z]{36}/;
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness('slackhard');
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.reset());

describe('Slack request timestamps from the future are refused like stale ones', () => {
  it.each([
    ['a day ahead', 24 * 60 * 60],
    ['six minutes ahead', 6 * 60],
  ])('a validly signed request dated %s → 401, no Slack call, no reply', async (_label, ahead) => {
    const responseUrl = h.fake.responseUrl();
    const res = await h.send(slashCommand({ text: 'help', userId: ADMIN, responseUrl }), { timestamp: nowSeconds() + ahead });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.fake.calls).toEqual([]);
  });

  it('four minutes ahead (clock skew within the window) is still served', async () => {
    const responseUrl = h.fake.responseUrl();
    const res = await h.send(slashCommand({ text: 'help', userId: ADMIN, responseUrl }), { timestamp: nowSeconds() + 4 * 60 });
    expect(res.status).toBe(200);
    const reply = await h.fake.waitFor('respond', (c) => c.url === responseUrl);
    expect(textOf(reply.args.blocks)).toContain('/apikey create');
  });
});

describe('the Web API client never logs request bodies, even at LOG_LEVEL=debug', () => {
  it('after a create through signed Slack requests, no web-api debug line reached the log, and the token is in no line', async () => {
    const before = h.logs.lines.length;
    const res = await h.submit({
      userId: ADMIN,
      callbackId: callbackIds.createKey,
      values: {
        [blockIds.name]: { [actionIds.nameInput]: textInput('Debug log probe') },
        [blockIds.description]: { [actionIds.descriptionInput]: textInput('Checks what reaches the debug log') },
        [blockIds.roles]: { [actionIds.rolesInput]: multiSelect(['cti_connector']) },
      },
    });
    expect(res.status).toBe(200);
    const dm = await h.fake.waitFor('chat.postEphemeral', (c) => TOKEN_RE.test(textOf(c.args.blocks)));
    const token = TOKEN_RE.exec(textOf(dm.args.blocks))![0];
    const lines = h.logs.lines.slice(before);
    // The logger is at debug and Bolt's own debug lines arrive: the level is not what hides them.
    expect(lines.some((l) => JSON.parse(l).level === 20)).toBe(true);
    // The first line of defence, alone: the Web API client's debug output (request URL,
    // body, headers, results) never reaches pino, so there is nothing for the scrubber to do.
    const webApi = lines.filter((l) => /http request (body|url|headers|result)|apiCall\(/.test(l) || JSON.parse(l).component === 'slack-web-api');
    expect(webApi).toEqual([]);
    expect(lines.some((l) => l.includes('[redacted]'))).toBe(false);
    expect(h.logs.text()).not.toContain(token);
  });
});

describe('what a user typed is quoted back escaped, in the text and the blocks', () => {
  it('a usage problem quoting the input', async () => {
    const { reply } = await h.command(ADMIN, 'frobnicate<!here><https://evil.example|docs>');
    expect(textOf(reply.args.blocks)).toContain('frobnicate&lt;!here&gt;');
    for (const v of [reply.args.text, reply.args.blocks]) {
      expect(JSON.stringify(v)).not.toMatch(/<!(channel|here|everyone)/);
      expect(JSON.stringify(v)).not.toContain('<https://evil');
    }
  });

  it('an expected failure keeps the mention it was written with', async () => {
    const { reply } = await h.command(ADMIN, 'members remove <@U0NOBODY>');
    expect(textOf(reply.args.blocks)).toContain('<@U0NOBODY> is not a member');
  });
});
