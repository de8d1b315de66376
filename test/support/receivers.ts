import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook a receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How a path answers its n-th request (0-based): a status, optionally after a delay. */
export type Behaviour = (n: number) => { status: number; delayMs?: number; body?: string; statusMessage?: string };

/** Answers 200 at once. */
export const ok: Behaviour = () => ({ status: 200 });
/** Fails `times` times with `status`, then answers 200. */
export const failThenOk =
  (times: number, status = 500): Behaviour =>
  (n) =>
    n < times ? { status, body: 'receiver is down' } : { status: 200 };
/** Always fails with `status`. */
export const alwaysFail =
  (status = 503): Behaviour =>
  () => ({ status, body: 'still down' });
/** Answers 200 after `ms`. */
export const slow =
  (ms: number): Behaviour =>
  () => ({ status: 200, delayMs: ms });

/**
 * Webhook receivers on 127.0.0.1: one HTTP server, any number of paths, each with its own
 * behaviour (default 200). Every request is recorded, answered or not.
 */
export interface Receivers {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The URL of a path, e.g. `url('/a')`. */
  url(path: string): string;
  /** Sets how a path answers. */
  on(path: string, behaviour: Behaviour): void;
  readonly received: ReceivedWebhook[];
  receivedOn(path: string): ReceivedWebhook[];
  /** Resolves when `predicate` holds over what was received; rejects after `timeoutMs`. */
  waitUntil(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startReceivers(): Promise<Receivers> {
  const received: ReceivedWebhook[] = [];
  const behaviours = new Map<string, Behaviour>();
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const { status, delayMs, body, statusMessage } = (behaviours.get(path) ?? ok)(n);
      const answer = () => {
        if (res.destroyed) return;
        if (statusMessage) res.statusMessage = statusMessage;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body ?? (status < 300 ? 'ok' : 'error'));
      };
      if (delayMs) setTimeout(answer, delayMs).unref();
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    on: (path, behaviour) => behaviours.set(path, behaviour),
    received,
    receivedOn: (path) => received.filter((r) => r.path === path),
    async waitUntil(predicate, timeoutMs = 15_000, what = 'receivers') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`${what}: condition not met within ${timeoutMs} ms; received ${received.length} requests`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
