import { describe, expect, it } from 'vitest';
import { auditModal, auditReply, describeEvent, type AuditEntry } from '../../../src/slack/blocks/audit.js';
import { decodeCursor, encodeCursor, parseAuditState } from '../../../src/slack/audit-state.js';
import { messageProblems, viewProblems } from './block-kit-limits.js';

const long = '<!channel> *x* '.repeat(200);
const at = new Date('2026-12-01T10:00:00Z');
const worst = (i: number): AuditEntry => ({
  id: `key.revoked:${'T'.repeat(20)}:ak_${'x'.repeat(60)}:${i}`,
  at,
  actor: `token:${'n'.repeat(64)}`,
  onBehalfOf: 'UADMIN1',
  action: 'key.revoked',
  target: `ak_${'x'.repeat(61)}`,
  details: { name: long, reason: long, leak: { source: 'github', url: `https://github.com/${'a'.repeat(3000)}` } },
});

describe('audit pages', () => {
  it('stay within Block Kit limits with the longest names, reasons and leak URLs, as a message and a modal', () => {
    const page = { events: Array.from({ length: 10 }, (_, i) => worst(i)), newer: true, older: true };
    const state = { k: `ak_${'x'.repeat(61)}`, u: 'U'.repeat(32) };
    expect(messageProblems(auditReply(page, state, long))).toEqual([]);
    expect(viewProblems(auditModal(page, state, long))).toEqual([]);
    expect(messageProblems(auditReply(page, {}))).toEqual([]);
  });

  it('escape user text: no broadcast, mention or link can be smuggled in', () => {
    const text = describeEvent({ ...worst(1), details: { name: '<!channel>', reason: '<@U999|x> <https://evil>' } }, true);
    expect(text).not.toMatch(/<!channel>|<@U999|<https:\/\/evil/);
    expect(text).toContain('for <@UADMIN1>');
  });

  it('leaks say where; approvals say who approved', () => {
    expect(
      describeEvent(
        { ...worst(1), actor: 'slack-leak-guard', onBehalfOf: undefined, details: { reason: 'leaked', leak: { source: 'slack', channel: 'C123', ts: '1.2' } } },
        false,
      ),
    ).toMatch(/posted in Slack in <#C123>/);
    expect(describeEvent({ ...worst(1), action: 'key.created', actor: 'UREQ1', onBehalfOf: undefined, details: { approvedBy: 'UADMIN1' } }, false)).toBe(
      '*Created* by <@UREQ1>, approved by <@UADMIN1>',
    );
  });

  it('a received key says how, and whether its secret replaced one nobody saw', () => {
    const received = { ...worst(1), action: 'request.collected' as const, actor: 'UREQ1', onBehalfOf: undefined, target: 'ak_1' };
    expect(describeEvent({ ...received, details: { via: 'dm' } }, true)).toBe('*Key received* `ak_1` by <@UREQ1> by DM');
    expect(describeEvent({ ...received, details: { via: 'modal', reissued: true } }, false)).toBe(
      '*Key received* by <@UREQ1> with Collect key (a new secret: the first hand-out died before showing it)',
    );
  });

  it('cursors round-trip; anything else reads as the first page', () => {
    expect(decodeCursor(encodeCursor({ at, id: 'a.b:c' }))).toEqual({ at, id: 'a.b:c' });
    expect(decodeCursor('garbage')).toBeUndefined();
    expect(parseAuditState('not json')).toEqual({});
    expect(parseAuditState(JSON.stringify({ k: 5, b: 'x' }))).toEqual({ b: 'x' });
  });
});
