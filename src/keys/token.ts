import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 30 base62 characters: 30 × log2(62) ≈ 178 bits of entropy. */
export const RANDOM_LENGTH = 30;
/** CRC32 < 62^6, so six base62 characters always hold it. */
export const CHECKSUM_LENGTH = 6;

/** Uniform base62 from crypto.randomBytes, by rejection sampling (no modulo bias). */
export function randomBase62(length: number, alphabet = ALPHABET): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

function base62(n: number, width: number): string {
  let s = '';
  let v = n;
  do {
    s = ALPHABET[v % 62] + s;
    v = Math.floor(v / 62);
  } while (v > 0);
  return s.padStart(width, '0');
}

/** The checksum of DESIGN.md "Keys": CRC32 of everything before it, in base62. */
export function checksum(body: string): string {
  return base62(crc32(body) >>> 0, CHECKSUM_LENGTH);
}

/** A fresh token `<prefix>_<30 random base62><6 checksum>`. */
export function generateToken(prefix: string): string {
  const body = `${prefix}_${randomBase62(RANDOM_LENGTH)}`;
  return body + checksum(body);
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'malformed' };

/**
 * Checks shape and checksum only: no I/O, so typos and random strings are rejected
 * before anything reaches the database.
 */
export function checkToken(token: string, prefix: string): TokenCheck {
  const expectedLength = prefix.length + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH;
  if (token.length !== expectedLength || !token.startsWith(`${prefix}_`)) return { ok: false, reason: 'malformed' };
  const rest = token.slice(prefix.length + 1);
  if (!/^[0-9A-Za-z]+$/.test(rest)) return { ok: false, reason: 'malformed' };
  const body = token.slice(0, -CHECKSUM_LENGTH);
  const sum = Buffer.from(token.slice(-CHECKSUM_LENGTH));
  const expected = Buffer.from(checksum(body));
  return timingSafeEqual(sum, expected) ? { ok: true } : { ok: false, reason: 'malformed' };
}

/** What is stored: HMAC-SHA256 with the pepper when there is one, else SHA-256; hex. */
export function hashToken(token: string, pepper?: string): string {
  return pepper
    ? createHmac('sha256', pepper).update(token).digest('hex')
    : createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The public id: `ak_` and 12 lowercase base36 characters (62 bits), easy to type; never derived from the secret. */
export function generateKeyId(): string {
  return `ak_${randomBase62(12, '0123456789abcdefghijklmnopqrstuvwxyz')}`;
}

/** The last four characters, shown so a person can tell keys apart. */
export const tokenHint = (token: string) => token.slice(-4);
