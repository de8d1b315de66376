import { connect } from 'node:net';

/** What a plain TCP client saw: the bytes it read, and how the connection ended. */
export interface RawReply {
  /** Everything read from the server. */
  text: string;
  /** Status code of the answer, 0 if none was read. */
  status: number;
  /** `end`: the server closed cleanly; `reset`: an error such as ECONNRESET or EPIPE; `timeout`: still open at the deadline. */
  ended: 'end' | 'reset' | 'timeout';
  /** Milliseconds from connecting to the first byte of the answer (-1 if none). */
  firstByteMs: number;
  /** Milliseconds from connecting until the connection ended. */
  ms: number;
  /** Bytes the kernel took from this client (head and body) before the connection ended. */
  bytesWritten: number;
  /** Writing the body failed (EPIPE or a reset): a client that uploads first gives up there. */
  writeFailed: boolean;
}

export interface RawOptions {
  /** Bytes of body to write after the head (as fast as the socket takes them). */
  body?: Buffer;
  /**
   * Read nothing until the whole body has been written (or writing failed), like the many
   * clients that upload first and look at the answer after.
   */
  readAfterWrite?: boolean;
  /** Wait this long after the head before writing the body (the server may answer meanwhile). */
  bodyDelayMs?: number;
  /** Give up (and report `timeout`) after this long. Default 15 s. */
  timeoutMs?: number;
}

/**
 * Writes a request head and then a body on a plain socket, reading all the while, as a
 * client that uploads before it looks at the answer would; it never half-closes, so a
 * body shorter than its Content-Length leaves the request stalled. Never rejects: how
 * the connection ended is part of the answer.
 */
export function rawExchange(port: number, head: string, opts: RawOptions = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    let text = '';
    let firstByteMs = -1;
    let settled = false;
    let bytesWritten = 0;
    let writeFailed = false;
    const socket = connect(port, '127.0.0.1');
    const finish = (ended: RawReply['ended']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bytesWritten = socket.bytesWritten - socket.writableLength;
      socket.destroy();
      resolve({ text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), ended, firstByteMs, ms: Date.now() - started, bytesWritten, writeFailed });
    };
    const timer = setTimeout(() => finish('timeout'), opts.timeoutMs ?? 15_000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      if (firstByteMs < 0) firstByteMs = Date.now() - started;
      text += d;
    });
    // Like most clients, it gives up at the first error (a reset, or EPIPE on a write).
    socket.on('error', () => finish('reset'));
    socket.on('end', () => finish('end'));
    socket.on('close', () => finish('end'));
    if (opts.readAfterWrite) socket.pause();
    socket.on('connect', () => {
      socket.write(head);
      // The callback runs once the kernel has taken every byte, or with the write's error.
      const writeBody = () =>
        socket.write(opts.body ?? '', (e) => {
          writeFailed = Boolean(e);
          socket.resume();
        });
      if (opts.bodyDelayMs) setTimeout(writeBody, opts.bodyDelayMs);
      else writeBody();
    });
  });
}
