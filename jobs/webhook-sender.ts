import http from 'node:http';
import https from 'node:https';
import { guardedLookup, refusedAtDelivery, type UrlGuardOptions } from '../src/dependents/url-guard.js';

/** What one POST came to. */
export interface PostOutcome {
  /** HTTP status; absent when no response came. */
  status?: number;
  /** Why it did not succeed: `HTTP 500: <start of body, see errorSnippet>`, a network error, a timeout. */
  error?: string;
  /** The address was refused by the guard: retrying cannot help. */
  blocked?: boolean;
  durationMs: number;
}

export interface WebhookSenderOptions extends UrlGuardOptions {
  timeoutMs: number;
  /** Sockets kept per host; about the worker's webhook concurrency. */
  maxSockets: number;
}

const BODY_SNIPPET = 200;

/**
 * The start of a receiver's error body as stored on the delivery and shown in the notice:
 * one line, at most 200 characters, with `<`, `>`, `|`, `&` and control characters removed
 * so that no mention, broadcast or disguised link can be built from it.
 */
export const errorSnippet = (body: string) =>
  body
    .slice(0, BODY_SNIPPET)
    .replace(/[<>|&\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * POSTs webhooks over node:http(s) with keep-alive agents whose `lookup` refuses private
 * addresses at connect time (unless allowed): the address checked is the one connected to.
 */
export class WebhookSender {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly opts: WebhookSenderOptions) {
    const common = { keepAlive: true, maxSockets: opts.maxSockets, ...(opts.allowPrivate ? {} : { lookup: guardedLookup }) };
    this.agents = { http: new http.Agent(common), https: new https.Agent(common) };
  }

  async post(rawUrl: string, body: string, headers: Record<string, string>): Promise<PostOutcome> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { error: 'invalid webhook URL', blocked: true, durationMs: 0 };
    }
    const refused = refusedAtDelivery(url, this.opts);
    if (refused) return { error: `refused: ${refused}`, blocked: true, durationMs: 0 };
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : http.request;
    return new Promise<PostOutcome>((resolve) => {
      let settled = false;
      const done = (o: Omit<PostOutcome, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...o, durationMs: took() });
      };
      const req = request(
        url,
        {
          method: 'POST',
          agent: secure ? this.agents.https : this.agents.http,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Keywarden-Webhooks/1', ...headers },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          res.on('error', (e) => done({ status, error: `HTTP ${status}, then ${e.message}` }));
          if (status >= 200 && status < 300) {
            // Success: the body is never read, only drained so the socket can be reused.
            res.on('end', () => done({ status }));
            res.resume();
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < BODY_SNIPPET) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            // The receiver's reason phrase is never kept; its body only as a snippet without
            // the characters Slack mrkdwn builds mentions and links from.
            const snippet = errorSnippet(Buffer.concat(chunks).toString('utf8'));
            done({ status, error: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` });
          });
        },
      );
      // One deadline for connect, headers and body together.
      const timer = setTimeout(() => {
        req.destroy();
        done({ error: `timed out after ${this.opts.timeoutMs} ms` });
      }, this.opts.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EBLOCKEDADDRESS') return done({ error: `refused: ${e.message}`, blocked: true });
        done({ error: e.code ? `${e.code}: ${e.message}` : e.message });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
