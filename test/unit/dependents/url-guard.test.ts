import { createServer } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KeyError } from '../../../src/errors.js';
import { checkWebhookUrl, guardedLookup, refusedAddress, refusedAtDelivery } from '../../../src/dependents/url-guard.js';
import { WebhookSender } from '../../../jobs/webhook-sender.js';

const strict = { allowPrivate: false };
const lax = { allowPrivate: true };

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof KeyError ? `refused: ${e.message}` : `threw: ${String(e)}`),
  );

describe('checkWebhookUrl, private networks not allowed', () => {
  it.each([
    ['plain http', 'http://hooks.example.com/x', /must use https, not http/],
    ['loopback literal', 'https://127.0.0.1/hook', /127\.0\.0\.1 is not a public address \(loopback\)/],
    ['loopback elsewhere in 127/8', 'https://127.8.9.10/hook', /not a public address/],
    ['private 10/8', 'https://10.0.0.1/hook', /10\.0\.0\.1 is not a public address \(private\)/],
    ['private 172.16/12', 'https://172.31.255.1/', /not a public address/],
    ['private 192.168/16', 'https://192.168.1.1/', /not a public address/],
    ['carrier-grade NAT 100.64/10', 'https://100.64.0.1/', /not a public address/],
    ['cloud metadata (link-local)', 'https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is not a public address \(link-local\)/],
    ['unspecified', 'https://0.0.0.0/', /not a public address/],
    ['IPv6 loopback', 'https://[::1]/hook', /::1 is not a public address \(loopback\)/],
    ['IPv6 unique-local', 'https://[fd00::1]/', /not a public address/],
    ['IPv6 link-local', 'https://[fe80::1]/', /not a public address/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/', /not a public address/],
    ['IPv4-mapped metadata', 'https://[::ffff:169.254.169.254]/', /not a public address/],
    ['decimal loopback', 'https://2130706433/', /127\.0\.0\.1 is not a public address/],
    ['a name resolving to loopback', 'https://localhost/hook', /localhost resolves to .* is not a public address/],
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
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.15.0.1', false],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['169.254.1.1', true],
    ['100.63.255.255', false],
    ['100.64.0.0', true],
    ['100.128.0.0', false],
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['::1', true],
    ['::', true],
    ['fc00::1', true],
    ['fdff::1', true],
    ['fe80::abcd', true],
    ['2001:db8::1', true],
    ['2606:4700::1111', false],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['224.0.0.1', true],
  ])('%s refused: %s', (address, refused) => {
    expect(Boolean(refusedAddress(address))).toBe(refused);
  });
});

describe('refusedAtDelivery', () => {
  it('refuses http and private literals again at delivery time', () => {
    expect(refusedAtDelivery(new URL('http://8.8.8.8/'), strict)).toMatch(/https/);
    expect(refusedAtDelivery(new URL('https://[::1]/'), strict)).toMatch(/not a public address/);
    expect(refusedAtDelivery(new URL('https://8.8.8.8/'), strict)).toBeUndefined();
    expect(refusedAtDelivery(new URL('https://example.com/'), strict)).toBeUndefined();
    expect(refusedAtDelivery(new URL('http://127.0.0.1/'), lax)).toBeUndefined();
  });
});

describe('guardedLookup at connect time', () => {
  it('refuses to connect to a name that resolves to loopback, even with a server listening there', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const err = await new Promise<Error | undefined>((resolve) => {
        const req = request({ host: 'localhost', port, path: '/', method: 'POST', lookup: guardedLookup, family: 4 }, (res) => {
          res.resume();
          resolve(undefined);
        });
        req.on('error', resolve);
        req.end();
      });
      expect(err?.message).toMatch(/localhost resolves to \S+ is not a public address/);
      expect(hits).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('answers both lookup shapes for public results (callback with one address, or all)', async () => {
    // A name that resolves without DNS: an IPv4 literal goes through dns.lookup unchanged.
    const one = await new Promise<[Error | null, string, number]>((resolve) =>
      guardedLookup('8.8.8.8', {}, (e, a, f) => resolve([e, a as string, f as number])),
    );
    expect(one).toEqual([null, '8.8.8.8', 4]);
    const all = await new Promise<unknown>((resolve) => guardedLookup('8.8.8.8', { all: true }, (_e, a) => resolve(a)));
    expect(all).toEqual([{ address: '8.8.8.8', family: 4 }]);
  });
});

/**
 * Every form the outside review tried (issue 10, item 2), and the ones that already held.
 * Each is checked where it is linked and again where the worker would connect.
 */
const attackForms: Array<[label: string, url: string, why: RegExp]> = [
  ['NAT64 of the metadata address', 'https://[64:ff9b::a9fe:a9fe]/latest/meta-data', /carries 169\.254\.169\.254: link-local/],
  ['NAT64 written with a dotted quad', 'https://[64:ff9b::169.254.169.254]/', /carries 169\.254\.169\.254/],
  ['local-use NAT64 64:ff9b:1::/48', 'https://[64:ff9b:1::a00:1]/', /carries 10\.0\.0\.1: private/],
  ['6to4 of the metadata address', 'https://[2002:a9fe:a9fe::1]/', /carries 169\.254\.169\.254: link-local/],
  ['IPv4-translated loopback', 'https://[::ffff:0:7f00:1]/', /carries 127\.0\.0\.1: loopback/],
  ['IPv4-compatible loopback', 'https://[::7f00:1]/', /carries 127\.0\.0\.1: loopback/],
  ['IPv4-compatible public address (deprecated form)', 'https://[::808:808]/', /IPv4-compatible, deprecated/],
  ['Teredo with a loopback client (NOT of the last 32 bits)', 'https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', /carries 127\.0\.0\.1: loopback/],
  ['Teredo with a private server', 'https://[2001:0:a00:1::]/', /carries 10\.0\.0\.1: private/],
  ['deprecated site-local fec0::/10', 'https://[fec0::1]/', /site-local, deprecated/],
  ['IPv4 192.0.0.0/24 (IETF protocol assignments)', 'https://192.0.0.170/', /192\.0\.0\.170 is not a public address \(reserved or documentation\)/],
  ['IPv4 198.18.0.0/15 (benchmarking)', 'https://198.19.1.1/', /198\.19\.1\.1 is not a public address \(reserved or documentation\)/],
  ['IPv4 documentation 203.0.113.0/24', 'https://203.0.113.9/', /reserved/],
  ['IPv4 class E', 'https://240.0.0.1/', /reserved/],
  ['IPv4 broadcast', 'https://255.255.255.255/', /broadcast/],
  ['IPv6 documentation 2001:db8::/32', 'https://[2001:db8::1]/', /reserved/],
  ['IPv6 benchmarking 2001:2::/48', 'https://[2001:2::1]/', /benchmarking/],
  ['IPv6 outside 2000::/3', 'https://[4000::1]/', /outside global unicast/],
  ['IPv6 multicast', 'https://[ff02::1]/', /multicast/],
  ['IPv6 unique-local', 'https://[fd12:3456::1]/', /unique-local, private/],
  ['decimal IPv4 loopback', 'https://2130706433/', /127\.0\.0\.1 is not a public address \(loopback\)/],
  ['hex IPv4 loopback', 'https://0x7f000001/', /127\.0\.0\.1 is not a public address/],
  ['octal IPv4 loopback', 'https://0177.0.0.1/', /127\.0\.0\.1 is not a public address/],
  ['short IPv4 127.1', 'https://127.1/', /127\.0\.0\.1 is not a public address/],
  ['0', 'https://0/', /0\.0\.0\.0 is not a public address \(unspecified\)/],
  ['[::1]', 'https://[::1]/', /::1 is not a public address \(loopback\)/],
  ['[::ffff:127.0.0.1]', 'https://[::ffff:127.0.0.1]/', /carries 127\.0\.0\.1: loopback/],
];

describe('the special-address forms, at link time and at connect time', () => {
  it.each(attackForms)('%s: %s is refused when linked', async (_label, url, why) => {
    const result = await outcome(checkWebhookUrl(url, strict));
    expect(result).toMatch(/^refused: Webhook URL refused: /);
    expect(result).toMatch(why);
  });

  it.each(attackForms)('%s: %s is refused before the worker connects', async (_label, url, why) => {
    expect(refusedAtDelivery(new URL(url), strict)).toMatch(why);
    const sender = new WebhookSender({ allowPrivate: false, timeoutMs: 1_000, maxSockets: 1 });
    try {
      const result = await sender.post(url, '{}', {});
      expect(result).toMatchObject({ blocked: true });
      expect(result.error).toMatch(why);
    } finally {
      sender.close();
    }
  });

  it.each(attackForms.filter(([, url]) => url.includes('[')))('%s: the connect-time lookup refuses %s too', async (_label, url, why) => {
    const host = new URL(url).hostname.slice(1, -1);
    const err = await new Promise<Error | null>((resolve) => guardedLookup(host, {}, (e) => resolve(e)));
    expect(err?.message).toMatch(why);
  });

  it.each([
    ['NAT64 of a public address', 'https://[64:ff9b::808:808]/'],
    ['6to4 of a public address', 'https://[2002:808:808::1]/'],
    ['IPv4-mapped public address', 'https://[::ffff:8.8.8.8]/'],
    ['Teredo with public server and client', 'https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/'],
    ['global unicast IPv6', 'https://[2606:4700:4700::1111]/'],
    ['public IPv4', 'https://1.1.1.1/'],
  ])('%s (%s) passes: only the carried IPv4 decides', async (_label, url) => {
    expect(await outcome(checkWebhookUrl(url, strict))).toBe('accepted');
    expect(refusedAtDelivery(new URL(url), strict)).toBeUndefined();
  });

  it('refuses userinfo and anything but https', async () => {
    expect(await outcome(checkWebhookUrl('https://user@8.8.8.8/', strict))).toMatch(/credentials/);
    expect(await outcome(checkWebhookUrl('https://:pw@8.8.8.8/', strict))).toMatch(/credentials/);
    for (const scheme of ['http', 'ftp', 'file', 'gopher', 'ws']) {
      expect(await outcome(checkWebhookUrl(`${scheme}://8.8.8.8/x`, strict))).toMatch(/must use https/);
    }
  });

  it('does not follow a redirect: a 302 to another server is a failed delivery, and that server is never hit', async () => {
    let elsewhere = 0;
    const target = createServer((_req, res) => {
      elsewhere++;
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const redirector = createServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/` }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    // Private networks allowed so the local redirector can be reached at all.
    const sender = new WebhookSender({ allowPrivate: true, timeoutMs: 2_000, maxSockets: 1 });
    try {
      const result = await sender.post(`http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook`, '{}', {});
      expect(result.status).toBe(302);
      expect(result.error).toBe('HTTP 302');
      expect(elsewhere).toBe(0);
    } finally {
      sender.close();
      await new Promise((r) => redirector.close(r));
      await new Promise((r) => target.close(r));
    }
  });
});
