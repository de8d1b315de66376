import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { signedHeaders } from '../../../jobs/webhooks.js';

// Webhooks are signed with node:crypto; receivers verify with any Standard Webhooks library,
// so the signature must be the one the reference library computes, byte for byte.
const body = JSON.stringify({ type: 'api_key.revoked', data: { keyId: 'ak_0123456789ab', name: 'Résumé runner ✓ "quoted"' } });
const at = new Date('2026-12-02T10:00:00.750Z');

describe('signedHeaders', () => {
  it('signs as the standardwebhooks library does, for secrets as Keywarden generates them', () => {
    for (let i = 0; i < 50; i++) {
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      const h = signedHeaders(secret, `msg_${i}`, body, at);
      expect(h).toEqual({
        'webhook-id': `msg_${i}`,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(`msg_${i}`, at, body),
      });
    }
  });

  it('verifies with the library at the receiver, and fails for another body or secret', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const now = new Date();
    const h = signedHeaders(secret, 'msg_verify', body, now);
    expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('Résumé', 'Resume'), h)).toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, h)).toThrow();
  });

  it('signs secrets without the prefix or not in canonical base64 exactly as the library does', () => {
    for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_dGVzdA==', 'whsec_dGVzdA']) {
      let expected: string | Error;
      try {
        expected = new Webhook(secret).sign('msg_x', at, body);
      } catch (e) {
        expected = e as Error;
      }
      if (expected instanceof Error) expect(() => signedHeaders(secret, 'msg_x', body, at)).toThrow(expected.message);
      else expect(signedHeaders(secret, 'msg_x', body, at)['webhook-signature']).toBe(expected);
    }
  });
});
