import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

/** Largest request body the API reads. */
export const BODY_LIMIT = 8 * 1024;

export const tooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `Request body exceeds ${limit} bytes.`, { connection: 'close' });

/**
 * Reads a body of at most `limit` bytes. A declared Content-Length over the limit is
 * refused before reading anything; a longer chunked body is refused as soon as it passes
 * the limit, and nothing more is buffered (the 413 closes the connection).
 */
export function readBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  // Listeners are inline and stay attached once settled (a flag ignores later events): no
  // named closures to create and detach per request, and a late 'error' still has a listener.
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        first = chunks = undefined;
        reject(tooLarge(limit));
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0)));
    });
    req.on('error', (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
  });
}
