import { describe, expect, it } from 'vitest';
import { deliveryLine, renderNotice } from '../../../jobs/notice.js';
import type { DeliveryAttempt, DeliveryRecord } from '../../../src/dependents/delivery-record.js';
import type { KeyRecord } from '../../../src/keys/key-record.js';

const revokedAt = new Date('2026-11-29T10:00:00Z');
const key: KeyRecord = {
  communityId: 'T1',
  keyId: 'ak_0123456789ab',
  name: 'SOAR <runner> & co',
  description: 'Runs phishing triage playbooks',
  roles: ['ic_viewer'],
  status: 'revoked',
  hint: 'wxyz',
  createdBy: 'U1',
  createdAt: new Date('2026-11-01T00:00:00Z'),
  revokedAt,
  revokedBy: 'U2',
  notification: { state: 'pending', total: 0, delivered: 0, failed: 0, gone: 0 },
};

const attempts = (n: number): DeliveryAttempt[] => Array.from({ length: n }, (_, i) => ({ at: new Date(revokedAt.getTime() + i), status: 503, durationMs: 5 }));
let seq = 0;
const delivery = (state: DeliveryRecord['state'], over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  communityId: 'T1',
  deliveryId: `msg_${seq}`,
  keyId: key.keyId,
  dependentId: `dep_${seq}`,
  dependentName: `dep-${seq++}`,
  state,
  attempts: attempts(1),
  createdAt: revokedAt,
  ...over,
});
const allText = (m: ReturnType<typeof renderNotice>) => [m.text, ...m.blocks.map((b) => JSON.stringify(b))].join('\n');

describe('deliveryLine', () => {
  it('says plainly where each webhook stands', () => {
    expect(deliveryLine(delivery('delivered', { dependentName: 'triage' }))).toBe(':white_check_mark: *triage*: notified');
    expect(deliveryLine(delivery('delivered', { dependentName: 'triage', attempts: attempts(3) }))).toBe(
      ':white_check_mark: *triage*: notified (after 3 attempts)',
    );
    expect(deliveryLine(delivery('failed', { dependentName: 'misp', attempts: attempts(8), lastError: 'HTTP 503' }))).toBe(
      ':x: *misp*: *NOT notified* — webhook failed after 8 attempts; last error: HTTP 503',
    );
    expect(deliveryLine(delivery('gone', { dependentName: 'old' }))).toContain('marked gone');
    expect(deliveryLine(delivery('pending', { dependentName: 'slow', attempts: attempts(2), lastError: 'timeout' }))).toBe(
      ':hourglass_flowing_sand: *slow*: sending (2 attempts so far; last error: timeout)',
    );
    expect(deliveryLine(delivery('pending', { dependentName: 'new', attempts: [] }))).toBe(':hourglass_flowing_sand: *new*: sending');
  });

  it('escapes names and errors, and clips long errors', () => {
    const line = deliveryLine(delivery('failed', { dependentName: '<!channel>', lastError: `<@U1> ${'x'.repeat(500)}` }));
    expect(line).toContain('&lt;!channel&gt;');
    expect(line).not.toMatch(/<[!@]/);
    expect(line.length).toBeLessThan(300);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('clipping', () => {
  it('never splits a surrogate pair, in the lines or the fallback text', () => {
    const m = renderNotice(key, [delivery('failed', { dependentName: 'emoji', lastError: `HTTP 500: ${'🔥'.repeat(400)}` })]);
    for (const t of [m.text, ...m.blocks.map((b) => JSON.stringify(b))]) expect(() => encodeURIComponent(t)).not.toThrow();
    expect(deliveryLine(delivery('pending', { lastError: `x${'🔑'.repeat(200)}` }))).toMatch(/🔑…\)$/);
  });
});

describe('renderNotice', () => {
  it('names the key, who revoked it and when, escaped, with a plain-text fallback', () => {
    const m = renderNotice(key, []);
    expect(m.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    const head = JSON.stringify(m.blocks[0]);
    expect(head).toContain('SOAR &lt;runner&gt; &amp; co');
    expect(head).toContain('`ak_0123456789ab`');
    expect(head).toContain('<@U2>');
    expect(head).toContain(`<!date^${revokedAt.getTime() / 1000}^`);
    expect(m.text).toContain('No dependents were linked to this key; nothing to notify.');
    expect(m.blocks).toHaveLength(2);
  });

  it('counts progress while deliveries are pending', () => {
    const m = renderNotice(key, [delivery('delivered'), delivery('pending'), delivery('pending'), delivery('failed')]);
    expect(m.text).toContain('Notifying 4 dependents: 1 notified, 2 in progress, 1 failed, 0 gone.');
  });

  it('warns when a dependent could not be notified, and says which and why in the fallback text', () => {
    const m = renderNotice(key, [delivery('delivered'), delivery('failed', { dependentName: 'misp-sync', attempts: attempts(8), lastError: 'HTTP 503' })]);
    expect(JSON.stringify(m.blocks[1])).toContain(':warning: 1 of 2 dependents could NOT be notified; they may still be using this key.');
    expect(m.text).toContain('Webhook to misp-sync FAILED after 8 attempts: HTTP 503.');
    expect(m.text).not.toContain(':warning:');
  });

  it('says all handled when everything is delivered or gone', () => {
    expect(renderNotice(key, [delivery('delivered'), delivery('gone')]).text).toContain('All 2 dependents handled: 1 notified, 1 gone.');
  });

  it('lists failures first and at most 25 lines, so a failure is never the line cut off', () => {
    const many = [...Array.from({ length: 40 }, () => delivery('delivered')), delivery('failed', { dependentName: 'the-one-that-failed' })];
    const lines = (m: ReturnType<typeof renderNotice>) => (m.blocks[2] as { text: { text: string } }).text.text.split('\n');
    const shown = lines(renderNotice(key, many));
    expect(shown[0]).toContain('the-one-that-failed');
    expect(shown).toHaveLength(26);
    expect(shown[25]).toBe('…and 16 more.');
  });

  it("stays within Slack's limits for the worst inputs", () => {
    const long = 'n'.repeat(64);
    const worst = Array.from({ length: 300 }, () => delivery('failed', { dependentName: long, lastError: 'e'.repeat(2000), attempts: attempts(8) }));
    const m = renderNotice({ ...key, name: long }, worst);
    expect(m.text.length).toBeLessThanOrEqual(3000);
    for (const b of m.blocks) expect((b as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(3000);
  });

  it('never carries a secret: only names, ids and errors', () => {
    const m = renderNotice(key, [delivery('delivered')]);
    expect(allText(m)).not.toMatch(/kw_[0-9A-Za-z]{30}|whsec_/);
    expect(allText(m)).not.toContain(key.hint);
  });
});

describe('reasons and leaks in the notice and the webhook body', () => {
  it("a person's reason is shown, escaped; the webhook carries it as stored, or no reason field at all", async () => {
    const { revokedEvent } = await import('../../../jobs/webhooks.js');
    const m = renderNotice({ ...key, reason: 'rotated <!channel>' }, []);
    expect(allText(m)).toContain('Reason: rotated &lt;!channel&gt;.');
    expect(renderNotice({ ...key, reason: 'no_longer_used' }, []).text).toContain('Reason: no longer used.');
    expect(revokedEvent({ ...key, reason: 'no_longer_used' }).data.reason).toBe('no_longer_used');
    expect('reason' in revokedEvent(key).data).toBe(false);
    expect('leak' in revokedEvent(key).data).toBe(false);
  });

  it('a leak: 🚨 Leaked with where and by whom, the URL defused, never a mention or a second link', async () => {
    const { revokedEvent } = await import('../../../jobs/webhooks.js');
    const leaked = {
      ...key,
      revokedBy: 'github-secret-scanning',
      reason: 'leaked',
      leak: { source: 'github' as const, url: 'https://github.com/a/b/blob/x/f.env?q=1&r=<!here>|evil' },
    };
    const m = renderNotice(leaked, [delivery('pending'), delivery('delivered')]);
    const head = (m.blocks[0] as { text: { text: string } }).text.text;
    expect(head).toMatch(
      /^🚨 Leaked: "SOAR &lt;runner&gt; &amp; co" \(`ak_0123456789ab`\) was found in <https:\/\/github\.com\/a\/b\/blob\/x\/f\.env\?q=1&amp;r=%3C!here%3E%7Cevil\|github\.com\/a\/b\/blob\/x\/f\.env> by GitHub secret scanning and revoked automatically at <!date\^\d+\^[^|]+\|[^>]+>\. 2 dependents are being told\.$/,
    );
    expect(revokedEvent(leaked).data).toMatchObject({ reason: 'leaked', leak: { source: 'github', url: leaked.leak.url } });
    const notALink = renderNotice({ ...leaked, leak: { source: 'github', url: 'javascript:alert(1)' } }, []);
    expect(allText(notALink)).not.toContain('<javascript');
    const slack = renderNotice({ ...leaked, revokedBy: 'slack-leak-guard', leak: { source: 'slack', channel: 'C0LEAKS', ts: '1.000001' } }, [
      delivery('pending'),
    ]);
    expect(allText(slack)).toContain('was found in a message in <#C0LEAKS> by the Slack leak guard');
    expect(allText(slack)).toContain('1 dependent is being told.');
  });
});
