import { createServer } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KeyError } from '../../../src/errors.js';
import { checkWebhookUrl, guardedLookup, refusedAddress, refusedAtDelivery } from '../../../src/dependents/url-guard.js';

const strict = { allowPrivate: false };
const lax = { allowPrivate: true };

const outcome = (p: Promise<unknown>) =>
  p.then(() => 'accepted', (e: unknown) => (e instanceof KeyError ? `refused: ${e.message}` : `threw: ${String(e)}`));

describe('checkWebhookUrl, private networks not allowed', () => {
  it.each([
    ['plain http', 'http://hooks.example.com/x', /must use https, not http/],
    ['loopback literal', 'https://127.0.0.1/hook', /127\.0\.0\.1 is a private, loopback or link-local address/],
    ['loopback elsewhere in 127/8', 'https://127.8.9.10/hook', /private, loopback or link-local/],
    ['private 10/8', 'https://10.0.0.1/hook', /10\.0\.0\.1 is a private/],
    ['private 172.16/12', 'https://172.31.255.1/', /private/],
    ['private 192.168/16', 'https://192.168.1.1/', /private/],
    ['carrier-grade NAT 100.64/10', 'https://100.64.0.1/', /private/],
    ['cloud metadata (link-local)', 'https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a private, loopback or link-local/],
    ['unspecified', 'https://0.0.0.0/', /private/],
    ['IPv6 loopback', 'https://[::1]/hook', /::1 is a private, loopback or link-local/],
    ['IPv6 unique-local', 'https://[fd00::1]/', /private/],
    ['IPv6 link-local', 'https://[fe80::1]/', /private/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/', /private/],
    ['IPv4-mapped metadata', 'https://[::ffff:169.254.169.254]/', /private/],
    ['decimal loopback', 'https://2130706433/', /127\.0\.0\.1 is a private/],
    ['a name resolving to loopback', 'https://localhost/hook', /localhost resolves to .* private, loopback or link-local/],
    ['not a URL', 'hooks.example.com', /is not a URL/],
    ['credentials in the URL', 'https://user:pw@8.8.8.8/', /credentials/],
    ['ftp', 'ftp://8.8.8.8/', /must use https/],
  ])('%s: %s is refused', async (_label, url, message) => {
    const result = await outcome(checkWebhookUrl(url, strict));
    expect(result).toMatch(/^refused: /);
    expect(result).toMatch(message);
  });

  it.each([
    ['public IPv4 literal', 'https://8.8.8.8/hooks/keywarden'],
    ['public IPv6 literal', 'https://[2001:4860:4860::8888]/hook'],
  ])('%s is accepted without any lookup', async (_label, url) => {
    expect(await outcome(checkWebhookUrl(url, strict))).toBe('accepted');
  });

  it('puts the reason on the url field for the modal', async () => {
    const err = (await checkWebhookUrl('https://10.0.0.1/', strict).catch((e: unknown) => e)) as KeyError;
    expect(err.code).toBe('invalid_input');
    expect(err.fields.url).toMatch(/^Refused: /);
  });
});

describe('checkWebhookUrl, WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', () => {
  it.each(['http://127.0.0.1:8080/hook', 'https://10.0.0.1/', 'http://localhost/x', 'https://[::1]/'])('%s is accepted', async (url) => {
    expect(await outcome(checkWebhookUrl(url, lax))).toBe('accepted');
  });
  it('still refuses other schemes', async () => {
    expect(await outcome(checkWebhookUrl('ftp://127.0.0.1/', lax))).toMatch(/refused: .*not http or https/);
  });
});

describe('refusedAddress', () => {
  it.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.15.0.1', false], ['172.16.0.1', true], ['172.32.0.1', false],
    ['192.168.0.1', true], ['169.254.1.1', true], ['100.63.255.255', false], ['100.64.0.0', true], ['100.128.0.0', false],
    ['8.8.8.8', false], ['1.1.1.1', false], ['::1', true], ['::', true], ['fc00::1', true], ['fdff::1', true],
    ['fe80::abcd', true], ['2001:db8::1', false], ['::ffff:10.0.0.1', true], ['::ffff:8.8.8.8', false], ['224.0.0.1', true],
  ])('%s refused: %s', (address, refused) => {
    expect(Boolean(refusedAddress(address))).toBe(refused);
  });
});

describe('refusedAtDelivery', () => {
  it('refuses http and private literals again at delivery time', () => {
    expect(refusedAtDelivery(new URL('http://8.8.8.8/'), strict)).toMatch(/https/);
    expect(refusedAtDelivery(new URL('https://[::1]/'), strict)).toMatch(/private/);
    expect(refusedAtDelivery(new URL('https://8.8.8.8/'), strict)).toBeUndefined();
    expect(refusedAtDelivery(new URL('https://example.com/'), strict)).toBeUndefined();
    expect(refusedAtDelivery(new URL('http://127.0.0.1/'), lax)).toBeUndefined();
  });
});

describe('guardedLookup at connect time', () => {
  it('refuses to connect to a name that resolves to loopback, even with a server listening there', async () => {
    let hits = 0;
    const server = createServer((_req, res) => { hits++; res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const err = await new Promise<Error | undefined>((resolve) => {
        const req = request({ host: 'localhost', port, path: '/', method: 'POST', lookup: guardedLookup, family: 4 }, (res) => { res.resume(); resolve(undefined); });
        req.on('error', resolve);
        req.end();
      });
      expect(err?.message).toMatch(/localhost resolves to \S+ is a private, loopback or link-local address/);
      expect(hits).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('answers both lookup shapes for public results (callback with one address, or all)', async () => {
    // A name that resolves without DNS: an IPv4 literal goes through dns.lookup unchanged.
    const one = await new Promise<[Error | null, string, number]>((resolve) => guardedLookup('8.8.8.8', {}, (e, a, f) => resolve([e, a as string, f as number])));
    expect(one).toEqual([null, '8.8.8.8', 4]);
    const all = await new Promise<unknown>((resolve) => guardedLookup('8.8.8.8', { all: true }, (_e, a) => resolve(a)));
    expect(all).toEqual([{ address: '8.8.8.8', family: 4 }]);
  });
});
