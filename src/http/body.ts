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
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
