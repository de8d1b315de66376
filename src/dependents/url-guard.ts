import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { promisify } from 'node:util';
import { KeyError } from '../errors.js';

/**
 * Addresses a webhook must never reach unless private networks are allowed: private,
 * carrier-grade NAT, loopback, link-local, unspecified, multicast and reserved, and the
 * IPv4-mapped IPv6 forms of those (BlockList matches `::ffff:a.b.c.d` and `::ffff:7f00:1`
 * against the IPv4 rules itself).
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 3],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) blocked.addSubnet(net, bits, 'ipv6');

/** Options of the guard: `allowPrivate` is WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
export interface UrlGuardOptions {
  allowPrivate: boolean;
}

/** Why an address is refused, or undefined when it may be reached. */
export function refusedAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6') ? `${address} is a private, loopback or link-local address` : undefined;
}

/** Strips the brackets of an IPv6 literal host (`[::1]` → `::1`). */
const bareHost = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');

const lookupAll = promisify(dnsLookup);

/**
 * Checks a webhook URL when it is linked: well-formed, `https`, and every address its host
 * resolves to is public. Throws `invalid_input` saying what is wrong. Delivery checks the
 * address again at connect time ({@link guardedLookup}), because DNS can change.
 */
export async function checkWebhookUrl(raw: string, opts: UrlGuardOptions): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw.trim().replace(/^<|>$/g, ''));
  } catch {
    throw new KeyError('invalid_input', `\`${raw}\` is not a URL.`, { url: 'Enter a full URL such as https://example.com/hooks/keywarden.' });
  }
  const refuse = (why: string): never => {
    throw new KeyError('invalid_input', `Webhook URL refused: ${why}.`, { url: `Refused: ${why}.` });
  };
  if (url.username || url.password) refuse('credentials in the URL are not allowed');
  if (opts.allowPrivate) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse(`${url.protocol} is not http or https`);
    return url;
  }
  if (url.protocol !== 'https:') refuse(`it must use https, not ${url.protocol.replace(/:$/, '')}`);
  const host = bareHost(url.hostname);
  if (isIP(host)) {
    const why = refusedAddress(host);
    if (why) refuse(why);
    return url;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host, { all: true, verbatim: true });
  } catch (e) {
    return refuse(`${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  for (const { address } of addresses) {
    const why = refusedAddress(address);
    if (why) refuse(`${host} resolves to ${why}`);
  }
  return url;
}

/** The error a guarded connection fails with; retrying cannot help. */
export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedAddressError';
  }
}

/**
 * A `lookup` for `http.request`/`net.connect` that resolves as usual, then refuses to
 * connect when any resolved address is private: the check happens on the addresses
 * actually connected to, so DNS rebinding between link and delivery cannot slip through.
 * Handles both call shapes (`all: true` is used by Node's happy-eyeballs connect).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as LookupAddress[];
    for (const { address } of list) {
      const why = refusedAddress(address);
      if (why) return callback(new BlockedAddressError(`${hostname} resolves to ${why}`), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};

/**
 * Checks the URL of one delivery before connecting: the scheme, and an IP-literal host
 * (no lookup happens for literals, so {@link guardedLookup} would not see it). Returns
 * why it is refused, or undefined.
 */
export function refusedAtDelivery(url: URL, opts: UrlGuardOptions): string | undefined {
  if (opts.allowPrivate) return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : `${url.protocol} is not http or https`;
  if (url.protocol !== 'https:') return `it must use https, not ${url.protocol.replace(/:$/, '')}`;
  const host = bareHost(url.hostname);
  return isIP(host) ? refusedAddress(host) : undefined;
}
