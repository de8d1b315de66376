import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REVOKE_MAX, parseApikeyCommand, parseLink, parseMention, unescapeSlack } from '../../../src/slack/commands/grammar.js';

describe('/apikey grammar', () => {
  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['  HELP  ', { kind: 'help' }],
    ['list', { kind: 'list', status: 'active', search: '' }],
    ['list revoked', { kind: 'list', status: 'revoked', search: '' }],
    ['list all soar  prod', { kind: 'list', status: 'all', search: 'soar prod' }],
    ['list soar', { kind: 'list', status: 'active', search: 'soar' }],
    ['list R&amp;D &lt;team&gt;', { kind: 'list', status: 'active', search: 'R&D <team>' }],
    ['create', { kind: 'create', name: '' }],
    ['create Deploy bot (prod)', { kind: 'create', name: 'Deploy bot (prod)' }],
    ['show ak_0123456789ab', { kind: 'show', keyId: 'ak_0123456789ab' }],
    ['revoke `ak_0123456789ab`', { kind: 'revoke', keyId: '`ak_0123456789ab`' }],
    ['revoke ak_0123456789ab compromised', { kind: 'revoke', keyId: 'ak_0123456789ab', reason: 'compromised' }],
    ['revoke ak_0123456789ab  no longer used ', { kind: 'revoke', keyId: 'ak_0123456789ab', reason: 'no longer used' }],
    ['revoke ak_0123456789ab moved to &lt;vault&gt; &amp; rotated', { kind: 'revoke', keyId: 'ak_0123456789ab', reason: 'moved to <vault> & rotated' }],
    ['members', { kind: 'members_list' }],
    ['members list', { kind: 'members_list' }],
    ['members add <@U0ALEX|alex> admin', { kind: 'members_add', userId: 'U0ALEX', role: 'admin' }],
    ['members add <@W0ALEX> Viewer', { kind: 'members_add', userId: 'W0ALEX', role: 'viewer' }],
    ['members remove <@U0ALEX|alex>', { kind: 'members_remove', userId: 'U0ALEX' }],
    [
      'link ak_0123456789ab playbook Contain host <https://soar.example.com/hook|soar>',
      { kind: 'link', keyId: 'ak_0123456789ab', dependentKind: 'playbook', name: 'Contain host', url: 'https://soar.example.com/hook' },
    ],
    [
      'link ak_0123456789ab cti Feed &amp; co https://x.example.com/a?b=1&amp;c=2',
      { kind: 'link', keyId: 'ak_0123456789ab', dependentKind: 'cti_connector', name: 'Feed & co', url: 'https://x.example.com/a?b=1&c=2' },
    ],
    ['admin-token create soar-prod keys:read keys:revoke', { kind: 'admin_token_create', name: 'soar-prod', scopes: ['keys:read', 'keys:revoke'] }],
    ['admin-tokens create vault.sync keys:write keys:write', { kind: 'admin_token_create', name: 'vault.sync', scopes: ['keys:write'] }],
    ['admin-token list', { kind: 'admin_token_list' }],
    ['admin-token', { kind: 'admin_token_list' }],
    ['admin-token revoke at_0123456789ab', { kind: 'admin_token_revoke', tokenId: 'at_0123456789ab' }],
  ])('%j', (text, expected) => {
    expect(parseApikeyCommand(text)).toEqual(expected);
  });

  it.each([
    ['bogus', 'all'],
    ['show', 'show'],
    ['show a b', 'show'],
    ['revoke', 'revoke'],
    ['members add alex admin', 'members'],
    ['members add <@U0ALEX> root', 'members'],
    ['members remove', 'members'],
    ['members list extra', 'members'],
    ['members nuke', 'members'],
    ['link', 'link'],
    ['link ak_1 kafka n <https://x.example.com>', 'link'],
    ['link ak_1 playbook n notaurl', 'link'],
    ['link ak_1 playbook <https://x.example.com>', 'link'],
    ['admin-token create', 'admin-token'],
    ['admin-token create soar', 'admin-token'],
    ['admin-token create soar keys:delete', 'admin-token'],
    ['admin-token create <@U1> keys:read', 'admin-token'],
    ['admin-token revoke', 'admin-token'],
    ['admin-token revoke a b', 'admin-token'],
    ['admin-token list x', 'admin-token'],
    ['admin-token mint', 'admin-token'],
  ])('%j is a usage answer for %s', (text, topic) => {
    const cmd = parseApikeyCommand(text);
    expect(cmd.kind).toBe('usage');
    if (cmd.kind === 'usage') expect(cmd.topic).toBe(topic);
  });

  it.each([
    ['revoke ak_0123456789ab ak_abcdefghijkl', { kind: 'revoke_many', keyIds: ['ak_0123456789ab', 'ak_abcdefghijkl'] }],
    ['revoke ak_0123456789ab `AK_ABCDEFGHIJKL` replaced', { kind: 'revoke_many', keyIds: ['ak_0123456789ab', 'ak_abcdefghijkl'], reason: 'replaced' }],
    // The keyIds are the leading run; a key named inside the reason stays words of the reason.
    ['revoke ak_0123456789ab replaced by ak_abcdefghijkl', { kind: 'revoke', keyId: 'ak_0123456789ab', reason: 'replaced by ak_abcdefghijkl' }],
    [
      'revoke ak_0123456789ab ak_abcdefghijkl rotated, see ak_zzzzzzzzzzzz',
      { kind: 'revoke_many', keyIds: ['ak_0123456789ab', 'ak_abcdefghijkl'], reason: 'rotated, see ak_zzzzzzzzzzzz' },
    ],
    // Repeats count once; one distinct key is the single form.
    ['revoke ak_0123456789ab ak_0123456789ab ak_abcdefghijkl ak_0123456789ab', { kind: 'revoke_many', keyIds: ['ak_0123456789ab', 'ak_abcdefghijkl'] }],
    ['revoke ak_0123456789ab `ak_0123456789ab` compromised', { kind: 'revoke', keyId: 'ak_0123456789ab', reason: 'compromised' }],
  ])('several keys: %j', (text, expected) => {
    expect(parseApikeyCommand(text)).toEqual(expected);
  });

  it(`revoke takes ${REVOKE_MAX} distinct keys and refuses ${REVOKE_MAX + 1} whole`, () => {
    const ids = Array.from({ length: REVOKE_MAX + 1 }, (_, i) => `ak_${i.toString(36).padStart(12, '0')}`);
    const fifty = parseApikeyCommand(`revoke ${ids.slice(0, REVOKE_MAX).join(' ')} ${ids[0]} compromised`);
    expect(fifty).toEqual({ kind: 'revoke_many', keyIds: ids.slice(0, REVOKE_MAX), reason: 'compromised' });
    const over = parseApikeyCommand(`revoke ${ids.join(' ')} compromised`);
    expect(over).toMatchObject({ kind: 'usage', topic: 'revoke' });
    expect(over.kind === 'usage' && over.problem).toContain(`At most ${REVOKE_MAX} keys at once: you gave ${REVOKE_MAX + 1}. Nothing was revoked`);
  });

  it('revoke: the keyIds are the leading ak_ words, the reason the rest, whatever the spacing', () => {
    const keyId = fc.stringMatching(/^ak_[0-9a-z]{12}$/);
    const reasonWord = fc.stringMatching(/^[a-z]{1,10}$/);
    fc.assert(
      fc.property(
        fc.array(keyId, { minLength: 1, maxLength: REVOKE_MAX }),
        fc.array(reasonWord, { maxLength: 6 }),
        fc.constantFrom(' ', '  ', '\t'),
        (ids, words, sep) => {
          const cmd = parseApikeyCommand(`revoke${sep}${ids.join(sep)}${sep}${words.join(sep)}`);
          const distinct = [...new Set(ids)];
          const reason = words.length ? { reason: words.join(' ') } : {};
          expect(cmd).toEqual(distinct.length === 1 ? { kind: 'revoke', keyId: ids[0], ...reason } : { kind: 'revoke_many', keyIds: distinct, ...reason });
        },
      ),
    );
  });

  it('never throws, and always answers something', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(parseApikeyCommand(text).kind).toBeTypeOf('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('list keeps every search word, in order, whatever the spacing', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/).filter((w) => !['active', 'revoked', 'all'].includes(w.toLowerCase()));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), fc.constantFrom(' ', '  ', '\t'), (words, sep) => {
        expect(parseApikeyCommand(`list all${sep}${words.join(sep)}`)).toEqual({ kind: 'list', status: 'all', search: words.join(' ') });
      }),
    );
  });

  it('escaped mentions round-trip to the user id', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[UW][A-Z0-9]{2,12}$/), fc.stringMatching(/^[a-z.]{0,10}$/), (id, name) => {
        expect(parseMention(name ? `<@${id}|${name}>` : `<@${id}>`)).toBe(id);
      }),
    );
    expect(parseMention('@alex')).toBeUndefined();
    expect(parseMention('<#C123|general>')).toBeUndefined();
  });

  it('links: escaped or bare, http(s) only', () => {
    expect(parseLink('<https://a.example.com/x|label>')).toBe('https://a.example.com/x');
    expect(parseLink('<http://127.0.0.1:8080/h>')).toBe('http://127.0.0.1:8080/h');
    expect(parseLink('<mailto:a@b.c|a@b.c>')).toBeUndefined();
    expect(parseLink('ftp://x')).toBeUndefined();
    expect(unescapeSlack('a &amp;lt; b')).toBe('a &lt; b');
  });
});
