import { describe, expect, it } from 'vitest';
import { DAY_MS, expiryText, lifeStatus, resolveExpiry, EXPIRY_DATE_MISSING, EXPIRY_DATE_RULE } from '../../../src/keys/key-life.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');

describe('a key expiry as admins give it', () => {
  it('defaults to 365 days; presets count from now; null is never', () => {
    expect(resolveExpiry({}, NOW)).toEqual({ expiresAt: new Date(NOW + 365 * DAY_MS) });
    expect(resolveExpiry({ expiresInDays: 30 }, NOW)).toEqual({ expiresAt: new Date(NOW + 30 * DAY_MS) });
    expect(resolveExpiry({ expiresInDays: null }, NOW)).toEqual({ expiresAt: null });
  });

  it('a date stops the key at 00:00 UTC that day; it must be after today and at most two years out', () => {
    expect(resolveExpiry({ expiresOn: '2026-12-13' }, NOW)).toEqual({ expiresAt: new Date('2026-12-13T00:00:00Z') });
    expect(resolveExpiry({ expiresOn: '2028-11-30' }, NOW)).toEqual({ expiresAt: new Date('2028-11-30T00:00:00Z') });
    for (const bad of ['2026-12-01', '2026-11-30', '2028-12-01', '2027-02-30', '13/12/2026']) {
      expect(resolveExpiry({ expiresOn: bad }, NOW)).toEqual({ errors: { expiresOn: EXPIRY_DATE_RULE } });
    }
    expect(resolveExpiry({ expiresOn: '' }, NOW)).toEqual({ errors: { expiresOn: EXPIRY_DATE_MISSING } });
  });
});

describe('status and expiry text at an instant', () => {
  const at = new Date('2026-12-13T00:00:00Z');
  it('active until the instant, expired from it on; revoked wins', () => {
    expect(lifeStatus({ status: 'active', expiresAt: at }, at.getTime() - 1)).toBe('active');
    expect(lifeStatus({ status: 'active', expiresAt: at }, at.getTime())).toBe('expired');
    expect(lifeStatus({ status: 'revoked', expiresAt: at }, at.getTime())).toBe('revoked');
    expect(lifeStatus({ status: 'active' }, Number.MAX_SAFE_INTEGER)).toBe('active');
  });

  it('reads as people say it', () => {
    expect(expiryText({ expiresAt: at }, NOW)).toBe('Expires in 12 days (Dec 13, 2026)');
    expect(expiryText({ expiresAt: at }, at.getTime() - 3 * 3_600_000 + 1)).toBe('Expires in 3 hours (Dec 13, 2026)');
    expect(expiryText({ expiresAt: new Date('2026-12-01T00:00:00Z') }, NOW)).toBe('Expired Dec 1, 2026');
    expect(expiryText({}, NOW)).toBe('Never expires');
  });
});
