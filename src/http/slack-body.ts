import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { receiveBody } from './body.js';
import { HttpError, requestIdOf, sendError } from './errors.js';

/** How much of a request to /slack/events is read, and for how long. */
export interface SlackBodyLimits {
  bytes: number;
  timeoutMs: number;
}

/**
 * Slack's payloads are far under 256 KiB (a view submission with every field filled is tens
 * of KiB), and Slack sends them at once: a body still arriving after 10 s is not Slack.
 */
export const SLACK_BODY: SlackBodyLimits = { bytes: 256 * 1024, timeoutMs: 10_000 };

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Reads the body of a request to /slack/events before Bolt does, since Bolt reads up to
 * 4 MiB of anyone's body before it checks the signature, with no time limit. A declared
 * Content-Length over `limits.bytes` is refused (413) before anything is read, a longer
 * chunked body is refused once it passes the limit, and a body not complete within
 * `limits.timeoutMs` is refused (408); nothing more is kept. A complete body is handed to
 * Bolt as `req.rawBody`, which its HTTPReceiver takes as the body already read (it then
 * verifies the signature over it and parses it).
 */
export function guardSlackBody(listener: Listener, log: Logger, limits: SlackBodyLimits = SLACK_BODY): Listener {
  return (req, res) => {
    // Bolt answers anything but a POST itself (404); it reads no body for those.
    if (req.method !== 'POST') {
      listener(req, res);
      return;
    }
    let settled = false;
    const refuse = (e: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sendError(res, e, requestIdOf(req), log);
    };
    const timer = setTimeout(
      () => refuse(new HttpError(408, 'request_timeout', `Request body not received within ${limits.timeoutMs} ms.`, { connection: 'close' })),
      limits.timeoutMs,
    );
    res.once('close', () => clearTimeout(timer));
    receiveBody(
      req,
      limits.bytes,
      (body) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
        listener(req, res);
      },
      refuse,
    );
  };
}
