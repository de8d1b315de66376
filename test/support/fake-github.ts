import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An ECDSA P-256 key pair GitHub would sign alerts with, and its published identifier. */
export interface ScanningKey {
  identifier: string;
  privateKey: KeyObject;
  pem: string;
}

export function scanningKey(): ScanningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { identifier: createHash('sha256').update(pem).digest('hex'), privateKey, pem };
}

/** `Github-Public-Key-Signature`: base64 DER ECDSA-SHA256 of the raw body. */
export const signAlert = (key: ScanningKey, body: string) => sign('sha256', Buffer.from(body), { key: key.privateKey, dsaEncoding: 'der' }).toString('base64');

/**
 * GitHub's side of the partner program: publishes its public keys (as
 * api.github.com/meta/public_keys/secret_scanning does) on loopback, counts the fetches,
 * and signs alerts.
 */
export interface FakeGithub {
  /** The keys URL, for GITHUB_SECRET_SCANNING_KEYS_URL. */
  url: string;
  /** The keys published now (the first is current). */
  published: ScanningKey[];
  /** How many times the keys were fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export async function startFakeGithub(published: ScanningKey[]): Promise<FakeGithub> {
  let fetches = 0;
  const state = { published };
  const server = createServer((req, res) => {
    fetches++;
    const body = JSON.stringify({ public_keys: state.published.map((k, i) => ({ key_identifier: k.identifier, key: k.pem, is_current: i === 0 })) });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`,
    get published() {
      return state.published;
    },
    set published(keys: ScanningKey[]) {
      state.published = keys;
    },
    fetches: () => fetches,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** POSTs an alert to the endpoint, signed by `key` unless `headers` say otherwise. */
export async function postAlert(baseUrl: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await fetch(`${baseUrl}/v1/secret-scanning/github`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

export const signedBy = (key: ScanningKey, body: string) => ({
  'github-public-key-identifier': key.identifier,
  'github-public-key-signature': signAlert(key, body),
});
