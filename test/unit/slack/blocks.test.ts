import { describe, expect, it } from 'vitest';
import { RoleCatalog, loadRoleCatalog } from '../../../src/roles/catalog.js';
import type { KeyRecord, ListPage } from '../../../src/keys/key-record.js';
import { createKeyModal, parseCreateModalMeta, roleOptions } from '../../../src/slack/blocks/create-modal.js';
import type { DependentView } from '../../../src/slack/blocks/dependent.js';
import { dependentSecretBlocks, dependentSecretText } from '../../../src/slack/blocks/dependent-linked.js';
import { homeView } from '../../../src/slack/blocks/home.js';
import { keyCreatedModal, secretMessageText, secretModal } from '../../../src/slack/blocks/key-created.js';
import { keyModal, parseKeyModalMeta } from '../../../src/slack/blocks/key-details.js';
import { keyListBlocks } from '../../../src/slack/blocks/key-list.js';
import { helpReply, membersReply, revokeConfirmReply, revokedReply, showReply, usageReply } from '../../../src/slack/blocks/messages.js';
import { actionIds, blockIds } from '../../../src/slack/ids.js';
import { keyRolledModal, rollModal } from '../../../src/slack/blocks/roll-modal.js';
import { renderReminder } from '../../../jobs/reminder.js';
import { parseListState } from '../../../src/slack/list-state.js';
import { messageProblems, viewProblems } from './block-kit-limits.js';
import { parseRevokeManyValue, refusedLine, revokeManyConfirmReply, revokeManyResultReply, type RevokeOutcome } from '../../../src/slack/blocks/revoke-many.js';
import { REVOKE_MAX } from '../../../src/slack/commands/grammar.js';

// The worst catalog the role file allows: 100 roles, 40-character ids, 32-character labels.
const bigCatalog = new RoleCatalog(
  Array.from({ length: 100 }, (_, i) => ({ id: `r${String(i).padStart(3, '0')}_${'x'.repeat(35)}`, label: `Label ${i} `.padEnd(32, 'y') })),
);
const catalog = loadRoleCatalog();
const NOW = Date.parse('2026-12-01T12:00:00Z');

const worstKey = (i = 0, over: Partial<KeyRecord> = {}): KeyRecord => ({
  communityId: 'T1',
  keyId: `ak_${String(i).padStart(12, '0')}`,
  name: 'N'.repeat(63) + '😀', // 64 characters, ending in a surrogate pair
  description: '<!channel> & `d` '.repeat(6).slice(0, 99),
  roles: bigCatalog.roles.slice(0, 30).map((r) => r.id),
  status: 'revoked',
  hint: 'abcd',
  createdBy: 'U0CREATOR',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  revokedAt: new Date('2026-02-01T00:00:00Z'),
  revokedBy: 'U0REVOKER',
  lastUsedAt: new Date('2026-01-15T00:00:00Z'),
  expiresAt: new Date('2026-12-13T00:00:00Z'),
  notification: { state: 'done', total: 0, delivered: 0, failed: 0, gone: 0 },
  ...over,
});

const longSearch = 'ü"\\'.repeat(400); // escapes grow under JSON
const fullPage: ListPage = {
  items: Array.from({ length: 10 }, (_, i) => worstKey(i)),
  next: 'zzzzzzzzzzzz.0123456789abcdef01234567',
  prev: 'zzzzzzzzzzzz.0123456789abcdef01234567',
};
const dependents = (n: number): DependentView[] =>
  Array.from({ length: n }, (_, i) => ({
    dependentId: `dep_${i}`,
    keyId: 'ak_x',
    kind: i % 2 ? 'playbook' : 'cti_connector',
    name: 'D'.repeat(64),
    webhookUrl: `https://${'h'.repeat(200)}.example.com/${'p'.repeat(1500)}`,
    status: 'active',
    createdAt: new Date(),
  }));

describe('Block Kit limits hold for the worst inputs', () => {
  it.each([true, false])('a full page of keys with 64-char names, 99-char descriptions and 30 long roles (admin %s)', (isAdmin) => {
    const state = parseListState(JSON.stringify({ s: 'all', q: longSearch }));
    const blocks = keyListBlocks({ page: fullPage, state, isAdmin, surface: 'message', now: NOW });
    expect(messageProblems({ text: 'x', blocks })).toEqual([]);
    expect(viewProblems(homeView({ page: fullPage, state, isAdmin, now: NOW }))).toEqual([]);
  });

  it('paging values carry status, search and cursor within 2000 characters', () => {
    const state = { s: 'revoked' as const, q: longSearch.slice(0, 500) };
    const blocks = keyListBlocks({ page: fullPage, state, isAdmin: true, surface: 'message', now: NOW }) as any[];
    const next = blocks.flatMap((b) => b.elements ?? []).find((e: any) => e.action_id === actionIds.listNext);
    expect(next.value.length).toBeLessThanOrEqual(2000);
    const back = parseListState(next.value);
    expect(back.s).toBe('revoked');
    expect(back.a).toBe(fullPage.next);
    expect(state.q.startsWith(back.q)).toBe(true);
  });

  it('the create modal offers at most 100 role options of at most 75 characters, with Expires and its date', () => {
    const view = createKeyModal({ catalog: bigCatalog, name: 'x'.repeat(500), meta: { h: JSON.stringify({ s: 'all', q: longSearch }) } });
    expect(viewProblems(view)).toEqual([]);
    const expires = view.blocks.find((b) => b.block_id === blockIds.expires) as any;
    expect(expires.element.options.map((o: any) => o.text.text)).toEqual(['30 days', '90 days', '180 days', '365 days', 'Never', 'On a date']);
    expect(expires.element.initial_option.value).toBe('365');
    expect((view.blocks.find((b) => b.block_id === blockIds.expiresOn) as any).element.type).toBe('datepicker');
    expect(roleOptions(catalog)[0]).toEqual({
      text: { type: 'plain_text', text: 'ic_viewer - Intelligence Center Read-Only', emoji: true },
      value: 'ic_viewer',
    });
    expect(parseCreateModalMeta(view.private_metadata)).toBeDefined();
  });

  it('the key modal with 30 roles and hundreds of dependents stays under 100 blocks', () => {
    const meta = { k: 'ak_x', h: JSON.stringify({ s: 'all', q: longSearch.slice(0, 500) }) };
    const view = keyModal({
      key: worstKey(0, { status: 'active', roles: bigCatalog.roles.slice(0, 30).map((r) => r.id) }),
      catalog: bigCatalog,
      dependents: dependents(300),
      isAdmin: true,
      meta,
      notice: 'n'.repeat(5000),
      now: NOW,
    });
    expect(viewProblems(view)).toEqual([]);
    expect(parseKeyModalMeta(view.private_metadata)?.k).toBe('ak_x');
  });

  it('messages: show, revoke confirmation, revoked, help, usage, members, dependent secret', () => {
    const key = worstKey(1, { status: 'active' });
    const msgs = [
      showReply(key, bigCatalog, true, dependents(100), NOW),
      revokeConfirmReply(key, NOW),
      revokedReply(worstKey(2), true),
      revokedReply(worstKey(2), false),
      helpReply(),
      usageReply('members', 'x'.repeat(4000)),
      membersReply(
        Array.from({ length: 500 }, (_, i) => ({
          communityId: 'T',
          slackUserId: `U${i}AAAA`,
          role: i % 2 ? 'admin' : 'viewer',
          addedBy: 'U',
          addedAt: new Date(),
        })),
      ),
      { text: 'x', blocks: dependentSecretBlocks(dependents(1)[0]!, 'whsec_abc') },
    ];
    for (const m of msgs) expect(messageProblems(m)).toEqual([]);
  });

  it('roll modal, rolled modal, rolled secret fallback, expiry reminder, key modal during an overlap', () => {
    const key = worstKey(4, { status: 'active', previousHint: 'wxyz', previousValidUntil: new Date(NOW + 3_600_000), rolledAt: new Date(NOW) });
    expect(viewProblems(rollModal(key, { k: key.keyId, h: JSON.stringify({ s: 'all', q: longSearch.slice(0, 500) }) }))).toEqual([]);
    expect(viewProblems(keyRolledModal(key))).toEqual([]);
    expect(viewProblems(secretModal(key, 'kw_' + 'a'.repeat(36), 'rolled'))).toEqual([]);
    for (const r of ['7d', '1d'] as const) expect(messageProblems(renderReminder(key, r, NOW))).toEqual([]);
    const modal = keyModal({
      key,
      catalog: bigCatalog,
      dependents: dependents(300),
      isAdmin: true,
      meta: { k: key.keyId },
      notice: 'n'.repeat(5000),
      now: NOW,
    });
    expect(viewProblems(modal)).toEqual([]);
    expect(JSON.stringify(modal)).toContain('Previous secret valid until');
    expect(JSON.stringify(showReply(key, bigCatalog, true, dependents(100), NOW))).toContain('Previous secret valid until');
    expect(messageProblems(showReply(key, bigCatalog, true, dependents(100), NOW))).toEqual([]);
  });

  it('created and fallback-secret modals', () => {
    expect(viewProblems(keyCreatedModal(worstKey()))).toEqual([]);
    expect(viewProblems(secretModal(worstKey(), 'kw_' + 'a'.repeat(36)))).toEqual([]);
  });
});

it('the limits checker itself catches oversize payloads', () => {
  const section = { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } };
  expect(messageProblems({ blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })).toEqual(['51 blocks > 50']);
  expect(messageProblems({ blocks: [section] })).toHaveLength(1);
  expect(viewProblems({ type: 'modal', title: { type: 'plain_text', text: 't'.repeat(25) }, blocks: [], private_metadata: 'm'.repeat(3001) })).toHaveLength(2);
});

describe('what the builders show', () => {
  const key = worstKey(3, { status: 'active', name: 'Deploy <!here> *bot*', roles: ['ic_viewer'] });

  it('escapes user text so it cannot ping or link', () => {
    const text = JSON.stringify(keyListBlocks({ page: { items: [key] }, state: { s: 'active', q: '' }, isAdmin: false, surface: 'message', now: NOW }));
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!here&gt;');
  });

  it('admins get Edit and + API key; viewers get neither', () => {
    const ids = (isAdmin: boolean) =>
      JSON.stringify(keyListBlocks({ page: { items: [key] }, state: { s: 'active', q: '' }, isAdmin, surface: 'message', now: NOW }));
    expect(ids(true)).toContain(actionIds.editKey);
    expect(ids(true)).toContain(actionIds.addKey);
    expect(ids(false)).not.toContain(actionIds.editKey);
    expect(ids(false)).not.toContain(actionIds.addKey);
  });

  it('the empty state says what to do', () => {
    const text = (q: string, s: 'active' | 'revoked', isAdmin: boolean) =>
      JSON.stringify(keyListBlocks({ page: { items: [] }, state: { s, q }, isAdmin, surface: 'message', now: NOW }));
    expect(text('', 'active', true)).toMatch(/\/apikey create/);
    expect(text('', 'active', false)).toMatch(/Ask a Keywarden admin/);
    expect(text('foo', 'active', false)).toMatch(/list all foo/);
    expect(text('', 'revoked', true)).toMatch(/once they are revoked/);
  });

  it('the Revoke button is danger-styled with a confirm dialog that says it cannot be undone', () => {
    const reply = revokeConfirmReply(key, NOW) as any;
    const btn = reply.blocks[1].elements[0];
    expect(btn.style).toBe('danger');
    expect(btn.confirm.style).toBe('danger');
    expect(btn.confirm.text.text).toMatch(/cannot be undone/);
  });

  it('the key modal shows Revoke only for an active key', () => {
    const active = keyModal({ key, catalog, dependents: [], isAdmin: true, meta: { k: key.keyId }, now: NOW });
    const revoked = keyModal({ key: { ...key, status: 'revoked' }, catalog, dependents: [], isAdmin: true, meta: { k: key.keyId }, now: NOW });
    expect(JSON.stringify(active)).toContain(actionIds.revokeKey);
    expect(JSON.stringify(revoked)).not.toContain(actionIds.revokeKey);
    expect(JSON.stringify(active)).toContain('ic_viewer - Intelligence Center Read-Only');
  });

  it('expiry reads the same on list rows, show, the key modal and Home', () => {
    const soon = { ...key, expiresAt: new Date('2026-12-13T00:00:00Z') };
    const gone = { ...key, expiresAt: new Date('2026-12-01T00:00:00Z') };
    const never = { ...key, expiresAt: undefined };
    const surfaces = (k: KeyRecord) => [
      JSON.stringify(keyListBlocks({ page: { items: [k] }, state: { s: 'all', q: '' }, isAdmin: true, surface: 'message', now: NOW })),
      JSON.stringify(showReply(k, catalog, true, [], NOW)),
      JSON.stringify(keyModal({ key: k, catalog, dependents: [], isAdmin: true, meta: { k: k.keyId }, now: NOW })),
      JSON.stringify(homeView({ page: { items: [k] }, state: { s: 'all', q: '' }, isAdmin: true, now: NOW })),
    ];
    for (const t of surfaces(soon)) expect(t).toContain('Expires in 12 days (Dec 13, 2026)');
    for (const t of surfaces(gone)) {
      expect(t).toContain('Expired Dec 1, 2026');
      expect(t).toContain(':hourglass: Expired');
      expect(t).not.toContain(actionIds.revokeKey);
    }
    for (const t of surfaces(never)) expect(t).toContain('Never expires');
  });

  it('the created modal never contains a token; the fallback does, with vault advice', () => {
    const token = 'kw_' + 'Z'.repeat(36);
    expect(JSON.stringify(keyCreatedModal(key))).not.toContain('kw_');
    expect(JSON.stringify(secretModal(key, token))).toContain(token);
    expect(JSON.stringify(secretModal(key, token))).toMatch(/vault/);
  });
});

describe('fallback texts are escaped like the blocks (Slack formats `text` as mrkdwn too)', () => {
  const evilKey = worstKey(1, { name: '<!channel> <https://evil.example|sso> &', status: 'active' });
  const evilDependent: DependentView = {
    dependentId: 'dep_x',
    keyId: evilKey.keyId,
    kind: 'playbook',
    name: '<!here> <@U0BOSS>',
    webhookUrl: 'https://hooks.example.com/x',
    status: 'active',
    createdAt: new Date(),
  };
  it.each([
    ['show', () => showReply(evilKey, catalog, true, [evilDependent], NOW).text],
    ['revoke confirmation', () => revokeConfirmReply(evilKey, NOW).text],
    ['secret DM', () => secretMessageText(evilKey)],
    ['dependent secret', () => dependentSecretText(evilDependent)],
  ])('%s', (_label, text) => {
    const t = text();
    expect(t).not.toMatch(/<[!@h]/);
    expect(t).toMatch(/&lt;!(channel|here)&gt;/);
  });
});

describe('revoke reasons on the Slack surfaces', () => {
  const key = {
    communityId: 'T1',
    keyId: 'ak_0123456789ab',
    name: 'Deploy',
    description: 'Deploys the playbooks',
    roles: ['ic_viewer'],
    status: 'active' as const,
    hint: 'abcd',
    createdBy: 'U1',
    createdAt: new Date('2026-11-01T00:00:00Z'),
    notification: { state: 'none' as const, total: 0, delivered: 0, failed: 0, gone: 0 },
  };

  it('the confirmation carries a typed free-text reason in the button and offers the presets; a preset is preselected', async () => {
    const { revokeConfirmReply } = await import('../../../src/slack/blocks/messages.js');
    const { parseRevokeValue } = await import('../../../src/slack/blocks/revoke-reason.js');
    const free = revokeConfirmReply(key, Date.now(), 'moved to <vault>');
    const text = JSON.stringify(free.blocks);
    expect(text).toContain('Reason: moved to &lt;vault&gt;');
    const actions = (free.blocks as any[]).find((b) => b.type === 'actions');
    expect(parseRevokeValue(actions.elements[0].value)).toEqual({ keyId: key.keyId, reason: 'moved to <vault>' });
    expect(actions.elements[1].options.map((o: any) => o.value)).toEqual(['compromised', 'no_longer_used', 'replaced', 'leaked']);
    const preset = (revokeConfirmReply(key, Date.now(), 'no_longer_used').blocks as any[]).find((b) => b.type === 'actions');
    expect(preset.elements[1].initial_option.value).toBe('no_longer_used');
    expect(preset.elements[0].value).toContain('no_longer_used');
    expect(parseRevokeValue('{"k":1}')).toEqual({ keyId: '' });
    expect(parseRevokeValue(key.keyId)).toEqual({ keyId: key.keyId });
  });
});

describe('several keys in one revoke (confirmation and result)', () => {
  const evilName = '<!channel> & <@U0BOSS> '.repeat(3).slice(0, 64);
  const keys = Array.from({ length: REVOKE_MAX }, (_, i) => worstKey(i, { status: 'active', name: evilName, expiresAt: undefined }));
  const ids = keys.map((k) => k.keyId);
  const reason = '"\\'.repeat(100); // 200 characters that double under JSON

  it('50 keys with the worst names and reason fit one message, and the button carries every keyId back', () => {
    const reply = revokeManyConfirmReply({ keyIds: ids, found: keys, now: NOW, reason });
    expect(messageProblems(reply)).toEqual([]);
    const button = (reply.blocks as any[]).find((b) => b.block_id === blockIds.keyActions).elements[0];
    expect(button.action_id).toBe(actionIds.revokeKeys);
    expect(parseRevokeManyValue(button.value)?.keyIds).toEqual(ids);
    expect(JSON.stringify(reply)).not.toMatch(/<!(channel|here|everyone)|<@U0BOSS>/);
    for (const id of ids) expect(JSON.stringify(reply.blocks)).toContain(id);
  });

  it('keys it cannot revoke are listed apart: unknown, already revoked, expired; no button when none is left', () => {
    const expired = worstKey(7, { status: 'active', expiresAt: new Date(NOW - 1000) });
    const revoked = worstKey(8);
    const reply = revokeManyConfirmReply({ keyIds: [expired.keyId, revoked.keyId, 'ak_unknown00000'], found: [expired, revoked], now: NOW });
    const text = JSON.stringify(reply.blocks);
    expect(text).toContain('None of these keys can be revoked. Nothing changed.');
    expect(text).toContain('already expired on');
    expect(text).toContain('was already revoked by <@U0REVOKER>');
    expect(text).toContain('`ak_unknown00000`: no such key in this workspace.');
    expect(actionIdsOf(reply.blocks)).toEqual([]);
  });

  it('the result of 50 keys, of every kind of outcome, fits one message', () => {
    const outcomes: RevokeOutcome[] = keys.map((key, i) =>
      i % 4 === 0
        ? { keyId: key.keyId, kind: 'revoked', key, staleUpToMs: i % 8 === 0 ? 30_000 : 0 }
        : i % 4 === 1
          ? { keyId: key.keyId, kind: 'already_revoked', key: { ...key, status: 'revoked', revokedBy: 'U0OTHER', revokedAt: new Date(NOW) }, staleUpToMs: 0 }
          : i % 4 === 2
            ? { keyId: key.keyId, kind: 'refused', message: refusedLine(key.keyId, 'not_found', 'x') }
            : { keyId: key.keyId, kind: 'failed' },
    );
    const reply = revokeManyResultReply(outcomes, 'x'.repeat(200));
    expect(messageProblems(reply)).toEqual([]);
    expect(reply.text).toMatch(/^Revoked 13 of 50 keys\./);
    expect(JSON.stringify(reply.blocks)).toContain('Other servers may accept it for up to 30 s more');
    expect(JSON.stringify(reply)).not.toMatch(/<!(channel|here|everyone)|<@U0BOSS>/);
  });

  it('a forged value is refused whole: not JSON, too many, repeated, not keyIds', () => {
    for (const v of [
      undefined,
      '',
      'ak_000000000001',
      JSON.stringify({ k: [...ids, 'ak_zzzzzzzzzzzz'] }),
      JSON.stringify({ k: [ids[0], ids[0]] }),
      JSON.stringify({ k: [ids[0], 'AK_UPPER'] }),
      JSON.stringify({ k: [ids[0]] }),
    ]) {
      expect(parseRevokeManyValue(v), String(v)).toBeUndefined();
    }
  });
});

function actionIdsOf(blocks: unknown): string[] {
  return [...JSON.stringify(blocks ?? []).matchAll(/"action_id":"([^"]+)"/g)].map((m) => m[1]!);
}
