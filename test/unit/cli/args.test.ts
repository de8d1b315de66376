import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../../src/cli/args.js';

describe('keywarden CLI arguments', () => {
  it.each([
    [['keys', 'list'], { kind: 'keys_list', status: 'active', search: '' }],
    [['keys', 'list', '--status', 'all', '--search', 'soar prod'], { kind: 'keys_list', status: 'all', search: 'soar prod' }],
    [
      ['keys', 'create', '--name', 'n', '--description', 'd', '--role', 'a', '--role', 'b', '--expires-in-days', 'never'],
      { kind: 'keys_create', name: 'n', description: 'd', roles: ['a', 'b'], expiresInDays: null },
    ],
    [['keys', 'revoke', 'ak_1', '--reason', 'compromised'], { kind: 'keys_revoke', keyId: 'ak_1', reason: 'compromised' }],
    [['keys', 'roll', 'ak_1'], { kind: 'keys_roll', keyId: 'ak_1', overlap: '24h' }],
    [
      ['dependents', 'link', 'ak_1', '--kind', 'cti', '--name', 'Feed', '--url', 'https://x.example.com'],
      { kind: 'dependents_link', keyId: 'ak_1', dependentKind: 'cti_connector', name: 'Feed', webhookUrl: 'https://x.example.com' },
    ],
    [['admin-tokens', 'create', 'soar', 'keys:read', 'keys:revoke'], { kind: 'admin_tokens_create', name: 'soar', scopes: ['keys:read', 'keys:revoke'] }],
    [['verify', 'kw_x'], { kind: 'verify', token: 'kw_x' }],
    [['audit', '--key', 'ak_1'], { kind: 'audit', keyId: 'ak_1' }],
  ])('%j', (argv, expected) => {
    expect(parseCli(argv).command).toEqual(expected);
  });

  it('flags: --json, --break-glass, --community (only with --break-glass)', () => {
    expect(parseCli(['--json', '--break-glass', '--community', 'T1', 'members', 'list'])).toEqual({
      command: { kind: 'members_list' },
      json: true,
      breakGlass: true,
      community: 'T1',
    });
    expect(parseCli(['--community', 'T1', 'keys', 'list']).command.kind).toBe('usage');
  });

  it.each([
    [['keys', 'show']],
    [['keys', 'roll', 'ak_1', '--overlap', '2h']],
    [['keys', 'create', '--name', 'x']],
    [['--nope']],
    [['members', 'add', 'U1', 'owner']],
    [['frob']],
  ])('%j is usage', (argv) => {
    expect(parseCli(argv).command.kind).toBe('usage');
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 8 }), (argv) => {
        expect(typeof parseCli(argv).command.kind).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });
});
