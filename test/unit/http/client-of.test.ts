import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientOf } from '../../../src/http/miss-limiter.js';

const req = (headers: Record<string, string | string[]>, remoteAddress = '10.0.0.9') => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('clientOf: who a miss is counted against', () => {
  it("is the connection's address unless a header is configured: a forwarded-for sent by anyone is ignored", () => {
    expect(clientOf(req({ 'x-forwarded-for': '203.0.113.7' }), undefined)).toBe('10.0.0.9');
  });

  it('with a header configured, is the last address in it (the one the proxy added)', () => {
    expect(clientOf(req({ 'x-forwarded-for': '198.51.100.1, 203.0.113.7' }), 'x-forwarded-for')).toBe('203.0.113.7');
    expect(clientOf(req({ 'x-forwarded-for': ['198.51.100.1', '203.0.113.8'] }), 'x-forwarded-for')).toBe('203.0.113.8');
  });

  it("falls back to the connection's address when the configured header is missing or empty", () => {
    expect(clientOf(req({}), 'x-forwarded-for')).toBe('10.0.0.9');
    expect(clientOf(req({ 'x-forwarded-for': ' , ' }), 'x-forwarded-for')).toBe('10.0.0.9');
  });
});
