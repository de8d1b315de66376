import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';
import { SecretBox, parseSecretsKeys, sealedWith, type SecretsKey } from '../../../src/dependents/secret-box.js';

const key = (id: string): SecretsKey => ({ id, key: randomBytes(32) });
const secret = 'whsec_' + randomBytes(24).toString('base64');

describe('SecretBox', () => {
  const k1 = key('k1');
  const box = new SecretBox([k1]);

  it('seals to text holding neither the secret nor any part of it, and opens it again', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 40 }), (plain, ctx) => {
        const sealed = box.seal(plain, ctx);
        expect(sealed).toMatch(/^enc:v1:k1:/);
        if (plain.length >= 8) expect(sealed).not.toContain(plain);
        expect(box.open(sealed, ctx)).toBe(plain);
      }),
    );
    const sealed = box.seal(secret, 'dependent:dep_a');
    expect(sealed).not.toContain(secret.slice(6, 20));
    expect(box.seal(secret, 'dependent:dep_a')).not.toBe(sealed); // a fresh IV every time
    expect(sealedWith(sealed)).toBe('k1');
  });

  it('refuses a value that was altered, moved to another record, or sealed with a key it lacks', () => {
    const sealed = box.seal(secret, 'dependent:dep_a');
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    expect(() => box.open(flipped, 'dependent:dep_a')).toThrow(/does not open with key id "k1"/);
    expect(() => box.open(sealed, 'dependent:dep_b')).toThrow(/does not open/);
    expect(() => new SecretBox([key('k2')]).open(sealed, 'dependent:dep_a')).toThrow(/key id "k1", which SECRETS_KEY does not hold/);
    expect(() => new SecretBox([]).open(sealed, 'dependent:dep_a')).toThrow(/SECRETS_KEY does not hold/);
  });

  it('rotates: the first key seals, every key opens', () => {
    const k2 = key('k2');
    const old = box.seal(secret, 'c');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(old, 'c')).toBe(secret);
    expect(sealedWith(rotated.seal(secret, 'c'))).toBe('k2');
  });

  it('without keys keeps plain text, and reads plain text stored before a key was set', () => {
    expect(new SecretBox([]).seal(secret, 'c')).toBe(secret);
    expect(box.open(secret, 'c')).toBe(secret);
    expect(sealedWith(secret)).toBeUndefined();
  });
});

describe('SECRETS_KEY', () => {
  const b64 = () => randomBytes(32).toString('base64');
  const env = (v: string) => ({ SLACK_SIGNING_SECRET: 'x'.repeat(16), SLACK_BOT_TOKEN: 'xoxb-12345678', ENV_FILE: 'none', SECRETS_KEY: v });

  it('accepts comma-separated id:base64 entries, first one first', () => {
    const config = loadConfig(env(`new:${b64()}, old:${b64()}`));
    expect(config.SECRETS_KEY?.map((k) => k.id)).toEqual(['new', 'old']);
    expect(config.SECRETS_KEY?.[0]?.key).toHaveLength(32);
    expect(loadConfig(env('')).SECRETS_KEY).toBeUndefined();
  });

  it.each([
    ['no id', b64(), /id:base64key/],
    ['a short key', `k1:${randomBytes(16).toString('base64')}`, /id:base64key/],
    ['the same id twice', `k1:${b64()},k1:${b64()}`, /appears twice/],
    ['only commas', ',,', /at least one/],
  ])('refuses %s with one line', (_label, value, why) => {
    expect(() => loadConfig(env(value))).toThrow(why);
    expect(parseSecretsKeys(value)).toEqual(expect.any(String));
  });
});
