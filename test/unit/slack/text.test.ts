import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { code, escapeMessage, escapeMrkdwn, fitJson, truncate } from '../../../src/slack/blocks/text.js';
import { KeyError } from '../../../src/errors.js';
import { expectedFailure } from '../../../src/slack/explain.js';
import { scrubSecrets } from '../../../src/slack/logging.js';
import { commandActor, homeActor, interactionActor } from '../../../src/slack/payloads.js';
import { encodeListState, parseListState } from '../../../src/slack/list-state.js';

describe('text helpers', () => {
  it('truncate never exceeds the limit nor splits a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 2, max: 150 }), (s, max) => {
        const t = truncate(s, max);
        expect(t.length).toBeLessThanOrEqual(max);
        expect(() => encodeURIComponent(t)).not.toThrow(); // a lone surrogate would throw
        if (s.length <= max) expect(t).toBe(s);
      }),
    );
  });

  it('escaping leaves no control characters for mrkdwn', () => {
    expect(escapeMrkdwn('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    expect(code('a`b')).toBe("`a'b`");
  });

  it('fitJson always fits and stays valid JSON', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.integer({ min: 60, max: 2000 }), (q, max) => {
        const json = fitJson({ s: 'all', q, a: 'zzzzzzzz.0123456789abcdef01234567' }, max);
        expect(json.length).toBeLessThanOrEqual(max);
        expect(() => JSON.parse(json)).not.toThrow();
      }),
    );
  });

  it('list state: garbage gives the default list; a round trip keeps it', () => {
    expect(parseListState('not json')).toEqual({ s: 'active', q: '' });
    expect(parseListState('{"s":"deleted","q":5}')).toEqual({ s: 'active', q: '' });
    const state = { s: 'revoked' as const, q: 'a b', b: 'x.0123456789abcdef01234567' };
    expect(parseListState(encodeListState(state))).toEqual(state);
  });

  it('scrubs token-shaped text from log lines', () => {
    const line = 'body {"text":"kw_0123456789ABCDEFGHIJabcdefghij012345 xoxb-1-2-abc whsec_abc+/="}';
    expect(scrubSecrets(line)).toBe('body {"text":"[redacted] [redacted] [redacted]"}');
    expect(scrubSecrets('ak_0123456789ab')).toBe('ak_0123456789ab');
  });
});

describe('community of a request', () => {
  it('commands: the enterprise for org-wide installs, else the team', () => {
    const base = { text: '', user_id: 'U1', team_id: 'T1', trigger_id: 't' };
    expect(commandActor(base)).toEqual({ communityId: 'T1', userId: 'U1' });
    expect(commandActor({ ...base, enterprise_id: 'E1', is_enterprise_install: 'false' })).toEqual({ communityId: 'T1', userId: 'U1' });
    expect(commandActor({ ...base, enterprise_id: 'E1', is_enterprise_install: 'true' })).toEqual({ communityId: 'E1', userId: 'U1' });
  });

  it('interactions and events follow the same rule', () => {
    expect(interactionActor({ user: { id: 'U1' }, team: { id: 'T1' }, enterprise: { id: 'E1' }, is_enterprise_install: true })).toEqual({
      communityId: 'E1',
      userId: 'U1',
    });
    expect(interactionActor({ user: { id: 'U1' }, team: { id: 'T1' }, enterprise: { id: 'E1' }, is_enterprise_install: false })).toEqual({
      communityId: 'T1',
      userId: 'U1',
    });
    expect(interactionActor({ user: { id: 'U1', team_id: 'T2' }, team: null, enterprise: null })).toEqual({ communityId: 'T2', userId: 'U1' });
    const event = { type: 'app_home_opened' as const, user: 'U1', tab: 'home' };
    expect(homeActor({ team_id: 'T1', event, authorizations: [{ team_id: null, enterprise_id: 'E1', is_enterprise_install: true }] })).toEqual({
      communityId: 'E1',
      userId: 'U1',
    });
    expect(homeActor({ team_id: 'T1', event })).toEqual({ communityId: 'T1', userId: 'U1' });
  });
});

describe('messages quoting user input', () => {
  it('escape everything but the user mentions they were written with', () => {
    expect(escapeMessage('<@U0ALEX> is not a member; `<!channel>` & <https://evil.example|sso>')).toBe(
      '<@U0ALEX> is not a member; `&lt;!channel&gt;` &amp; &lt;https://evil.example|sso&gt;',
    );
    expect(escapeMessage('<@U0ALEX|alex> <!subteam^S1>')).toBe('&lt;@U0ALEX|alex&gt; &lt;!subteam^S1&gt;');
  });

  it('an expected failure reaches Slack escaped', () => {
    expect(expectedFailure(new KeyError('not_found', 'No API key `<!here>` in this workspace.'))).toBe('No API key `&lt;!here&gt;` in this workspace.');
    expect(() => expectedFailure(new Error('boom'))).toThrow('boom');
  });
});
