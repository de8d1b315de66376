import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';
import { KeyError } from '../errors.js';

/** Options of the guard: `allowPrivate` is WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
export interface UrlGuardOptions {
  allowPrivate: boolean;
}

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

const v4 = (hi: number, lo: number): IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
const globalUnicast6: [IPv6, number] = ipaddr.IPv6.parseCIDR('2000::/3');
const nat64WellKnown: [IPv6, number] = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/**
 * The IPv4 addresses an IPv6 address carries and that a packet to it may end up at:
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), NAT64
 * (`64:ff9b::/96`), 6to4 (`2002:AABB:CCDD::/48`), Teredo (server in bits 32–63, client as
 * the bitwise NOT of the last 32 bits) and the deprecated IPv4-compatible `::a.b.c.d`.
 */
export function embeddedIPv4(addr: IPv6): IPv4[] {
  const p = addr.parts;
  const last = v4(p[6]!, p[7]!);
  switch (addr.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return [last];
    case '6to4':
      return [v4(p[1]!, p[2]!)];
    case 'teredo':
      return [v4(p[2]!, p[3]!), v4(~p[6]! & 0xffff, ~p[7]! & 0xffff)];
    default:
      return p.slice(0, 6).every((x) => x === 0) && !(p[6] === 0 && p[7]! <= 1) ? [last] : [];
  }
}

/** ipaddr.js's range names, as people read them. */
const rangeLabels: Record<string, string> = {
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local, private',
  deprecatedSiteLocal: 'site-local, deprecated',
  carrierGradeNat: 'carrier-grade NAT',
  reserved: 'reserved or documentation',
  benchmarking: 'benchmarking',
  as112: 'AS112',
  as112v6: 'AS112',
  amt: 'AMT',
  rfc6052: 'NAT64',
  orchid2: 'ORCHID',
  deprecatedOrchid: 'ORCHID',
  droneRemoteIdProtocolEntityTags: 'DRIP',
  segmentRouting: 'segment routing',
  discard: 'discard-only',
};
const label = (range: string) => rangeLabels[range] ?? range;

/** Why an IPv4 address is not global unicast (its range), or undefined. */
const refused4 = (addr: IPv4): string | undefined => (addr.range() === 'unicast' ? undefined : label(addr.range()));

/**
 * Why an address is refused, or undefined when it may be reached: only global unicast
 * passes. IPv4 must be outside every special range ipaddr.js names (private, loopback,
 * link-local, CGNAT, 192.0.0.0/24, benchmarking 198.18.0.0/15, documentation, multicast,
 * reserved…). IPv6 must be in 2000::/3 and in no special range (so no unique-local,
 * deprecated site-local fec0::/10, documentation, ORCHID…), except the forms that carry
 * an IPv4 address (mapped, translated, NAT64 64:ff9b::/96, 6to4, Teredo): those pass only
 * when every IPv4 address they carry does. The local-use NAT64 prefix 64:ff9b:1::/48 and
 * IPv4-compatible `::a.b.c.d` (deprecated) never pass.
 */
export function refusedAddress(address: string): string | undefined {
  if (!isIP(address) || !ipaddr.isValid(address)) return `${address} is not an IP address`;
  const addr = ipaddr.parse(address);
  const notPublic = (why: string) => `${address} is not a public address (${why})`;
  if (addr.kind() === 'ipv4') {
    const why = refused4(addr as IPv4);
    return why ? notPublic(why) : undefined;
  }
  const a6 = addr as IPv6;
  const inner = embeddedIPv4(a6);
  for (const e of inner) {
    const why = refused4(e);
    if (why) return `${address} is not a public address (it carries ${e.toString()}: ${why})`;
  }
  const range = a6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === '6to4' || range === 'teredo') return undefined;
  if (range === 'rfc6052') return a6.match(nat64WellKnown) ? undefined : notPublic('local-use NAT64 prefix');
  if (inner.length) return notPublic(`IPv4-compatible, deprecated`);
  if (range !== 'unicast') return notPublic(label(range));
  return a6.match(globalUnicast6) ? undefined : notPublic('outside global unicast 2000::/3');
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
    const list = addresses;
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
