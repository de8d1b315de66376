import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused body is still read, and for how long, before the connection is closed. */
export interface LingerLimits {
  bytes: number;
  ms: number;
}

// 4 MiB: a client uploading a few MB (20 at once in the tests) is read to its end and gets a
// clean close. With 1 MiB the rest of a 2 MB body was left unread, and the answer survived
// only while that rest fitted in the loopback socket buffers (closing on unread bytes
// sends a reset). Still a bound: a 64 MB upload is cut off.
export const LINGER: LingerLimits = { bytes: 4 * 1024 * 1024, ms: 2_000 };

/**
 * True when the request has a body the server has not received yet: an answer given now
 * arrives while the client is still sending.
 */
export function bodyPending(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Ends an answer that was written (head and body, with `Connection: close`) before the
 * request's body was read, the way nginx's lingering close does. Closing a socket with
 * unread bytes makes the kernel send a reset, and a client still uploading then loses the
 * answer waiting in its buffer (it sees ECONNRESET or EPIPE instead of the 413). So the
 * rest of the body is read and thrown away until the client stops sending, or `limits.bytes`
 * more have arrived, or `limits.ms` have passed, whichever is first; only then does the
 * connection close. Nothing read here is kept.
 */
export function endAfterLinger(req: IncomingMessage, res: ServerResponse, limits: LingerLimits = LINGER): void {
  let discarded = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', end);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.bytes) end();
  };
  const timer = setTimeout(end, limits.ms);
  req.on('data', onData);
  req.on('end', end);
  // The client went away: nothing left to protect.
  res.once('close', () => clearTimeout(timer));
  req.resume();
}
