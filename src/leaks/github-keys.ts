import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../log.js';

/** The document GitHub publishes at GITHUB_SECRET_SCANNING_KEYS_URL. */
const publicKeysDocument = z.object({
  public_keys: z.array(z.object({ key_identifier: z.string().min(1).max(256), key: z.string().min(1), is_current: z.boolean().optional() })),
});

export interface GithubKeysOptions {
  url: string;
  log: Logger;
  /** The least time between two fetches, whatever arrives (default one minute). */
  minRefetchMs?: number;
  /** How long one fetch may take. */
  timeoutMs?: number;
  /** Milliseconds, monotonic enough for rate limiting (tests move it). */
  now?: () => number;
}

/**
 * GitHub's secret-scanning public keys, by identifier. Fetched on first use and kept; fetched
 * again only when a signature names an identifier not held (GitHub rotated its key), and
 * never more than once per `minRefetchMs`, however many requests name unknown identifiers:
 * a stranger's made-up identifiers cost at most one fetch a minute, never one per request.
 * Concurrent requests share one fetch in flight.
 */
export class GithubPublicKeys {
  private keys = new Map<string, KeyObject>();
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  /** How many fetches were started (tests and /metrics-style checks). */
  fetches = 0;
  private readonly now: () => number;

  constructor(private readonly opts: GithubKeysOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** The key named `identifier`, fetching the list once more if it is not held and a fetch is allowed. */
  async get(identifier: string): Promise<KeyObject | undefined> {
    const held = this.keys.get(identifier);
    if (held) return held;
    await this.refresh();
    return this.keys.get(identifier);
  }

  /** True when `signatureB64` (base64 DER ECDSA) signs `body` under the key named `identifier`. */
  async verify(identifier: string, signatureB64: string, body: Buffer): Promise<boolean> {
    const key = await this.get(identifier);
    if (!key) return false;
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signatureB64, 'base64'));
    } catch {
      return false; // a signature that is not DER at all
    }
  }

  private refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (this.now() - this.lastFetchAt < (this.opts.minRefetchMs ?? 60_000)) return Promise.resolve();
    this.lastFetchAt = this.now();
    this.fetches++;
    this.inflight = this.fetchKeys()
      .then((keys) => {
        this.keys = keys;
        this.opts.log.info({ keys: [...keys.keys()] }, 'github secret-scanning public keys fetched');
      })
      .catch((e: unknown) =>
        this.opts.log.warn(
          { url: this.opts.url, err: (e as Error).message },
          'could not fetch github secret-scanning public keys; alerts are refused until they can be',
        ),
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async fetchKeys(): Promise<Map<string, KeyObject>> {
    const res = await fetch(this.opts.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const doc = publicKeysDocument.parse(await res.json());
    const keys = new Map<string, KeyObject>();
    for (const k of doc.public_keys) {
      try {
        const key = createPublicKey(k.key);
        // GitHub signs with ECDSA on P-256; any other key would let a weaker scheme in.
        if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') keys.set(k.key_identifier, key);
      } catch {
        this.opts.log.warn({ keyIdentifier: k.key_identifier }, 'github published a public key that does not parse; skipped');
      }
    }
    return keys;
  }
}
