import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkToken, checksum, generateKeyId, generateToken, hashToken, sameHash } from '../../../src/keys/token.js';

describe('token format', () => {
  it('is <prefix>_<30 base62 random><6 base62 checksum>', () => {
    const token = generateToken('kw');
    expect(token).toMatch(/^kw_[0-9A-Za-z]{36}$/);
    expect(token.slice(-6)).toBe(checksum(token.slice(0, -6)));
    expect(checkToken(token, 'kw')).toEqual({ ok: true });
  });

  it('uses the configured prefix and never repeats', () => {
    const tokens = new Set(Array.from({ length: 2000 }, () => generateToken('acme')));
    expect(tokens.size).toBe(2000);
    for (const t of tokens) expect(t.startsWith('acme_')).toBe(true);
  });

  it('draws every base62 character (no biased or missing alphabet)', () => {
    const seen = new Set(Array.from({ length: 300 }, () => generateToken('kw').slice(3, 33)).join(''));
    expect(seen.size).toBe(62);
  });

  it('keyIds are short, typeable and unrelated to the token', () => {
    expect(generateKeyId()).toMatch(/^ak_[0-9a-z]{12}$/);
  });
});

describe('checksum rejection', () => {
  const token = generateToken('kw');
  it.each([
    ['empty', ''],
    ['prefix only', 'kw_'],
    ['other prefix', `xx${token.slice(2)}`],
    ['too short', token.slice(0, -1)],
    ['too long', `${token}a`],
    ['non-base62 character', `${token.slice(0, 10)}-${token.slice(11)}`],
    ['whitespace around', ` ${token}`],
  ])('rejects %s', (_label, candidate) => {
    expect(checkToken(candidate, 'kw')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects any single-character typo (property)', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    fc.assert(
      fc.property(fc.integer({ min: 3, max: token.length - 1 }), fc.integer({ min: 1, max: 61 }), (pos, shift) => {
        const original = token[pos]!;
        const replaced = alphabet[(alphabet.indexOf(original) + shift) % 62]!;
        const typo = token.slice(0, pos) + replaced + token.slice(pos + 1);
        return checkToken(typo, 'kw').ok === false;
      }),
      { numRuns: 500 },
    );
  });

  it('rejects arbitrary strings (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => checkToken(s, 'kw').ok === false || s.length === 39));
  });
});

describe('hashing', () => {
  it('is SHA-256 hex without a pepper and HMAC with one', () => {
    const token = generateToken('kw');
    const plain = hashToken(token);
    const peppered = hashToken(token, 'pepper-pepper-pepper');
    expect(plain).toMatch(/^[0-9a-f]{64}$/);
    expect(peppered).toMatch(/^[0-9a-f]{64}$/);
    expect(peppered).not.toBe(plain);
    expect(plain).not.toContain(token);
  });

  it('compares digests in constant time and by value', () => {
    const a = hashToken('a');
    expect(sameHash(a, hashToken('a'))).toBe(true);
    expect(sameHash(a, hashToken('b'))).toBe(false);
    expect(sameHash(a, a.slice(0, 10))).toBe(false);
  });
});
