import { createHash, createHmac, hash as oneShotHash, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** The token's checksum (README "Security model", Tokens): CRC32 of everything before it, in base62. */
export function checksum(body: string): string {
  return base62(crc32(body) >>> 0, CHECKSUM_LENGTH);
}

/** A fresh token `<prefix>_<30 random base62><6 checksum>`. */
export function generateToken(prefix: string): string {
  const body = `${prefix}_${randomBase62(RANDOM_LENGTH)}`;
  return body + checksum(body);
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'malformed' };

/** 0 for a base62 character's code, 1 for any other code (a 128-entry table; codes ≥ 128 are not base62). */
const NOT_BASE62 = new Uint8Array(128).fill(1);
for (let i = 0; i < ALPHABET.length; i++) NOT_BASE62[ALPHABET.charCodeAt(i)] = 0;

const MALFORMED: TokenCheck = Object.freeze({ ok: false, reason: 'malformed' });
const OK: TokenCheck = Object.freeze({ ok: true });

/**
 * Checks shape and checksum only: no I/O, so typos and random strings are rejected
 * before anything reaches the database. (Hot path: no regex, no Buffers; the checksum
 * digits are compared without an early exit, like timingSafeEqual.)
 */
export function checkToken(token: string, prefix: string): TokenCheck {
  const start = prefix.length + 1;
  if (token.length !== start + RANDOM_LENGTH + CHECKSUM_LENGTH || !token.startsWith(prefix) || token.charCodeAt(prefix.length) !== 95 /* _ */) {
    return MALFORMED;
  }
  let bad = 0;
  for (let i = start; i < token.length; i++) {
    const c = token.charCodeAt(i);
    bad |= c < 128 ? NOT_BASE62[c]! : 1;
  }
  if (bad) return MALFORMED;
  const bodyLength = token.length - CHECKSUM_LENGTH;
  // The six checksum digits, most significant first, compared digit by digit without branching.
  let v = crc32(token.slice(0, bodyLength)) >>> 0;
  let diff = 0;
  for (let i = token.length - 1; i >= bodyLength; i--) {
    diff |= token.charCodeAt(i) ^ ALPHABET.charCodeAt(v % 62);
    v = Math.floor(v / 62);
  }
  return diff === 0 ? OK : MALFORMED;
}

/** What is stored: HMAC-SHA256 with the pepper when there is one, else SHA-256; hex. */
export function hashToken(token: string, pepper?: string): string {
  if (pepper) return createHmac('sha256', pepper).update(token).digest('hex');
  // crypto.hash (one-shot, Node ≥ 20.12) is over twice as fast as createHash for a token.
  return typeof oneShotHash === 'function' ? oneShotHash('sha256', token, 'hex') : createHash('sha256').update(token).digest('hex');
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
