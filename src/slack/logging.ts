import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import { boltLogger, type Logger } from '../log.js';

/** Anything shaped like a Keywarden token (`<prefix>_` + 36 base62) or a Slack token. */
const secretLike = /\b[a-z][a-z0-9]{1,11}_[0-9A-Za-z]{36}\b|\bxox[abpre]-[0-9A-Za-z-]+|\bxapp-[0-9A-Za-z-]+|\bwhsec_[0-9A-Za-z+/=]+/g;

/** Replaces token-shaped text with `[redacted]`. */
export const scrubSecrets = (text: string) => text.replace(secretLike, '[redacted]');

const scrubArg = (a: unknown): unknown => {
  if (typeof a === 'string') return scrubSecrets(a);
  if (a instanceof Error) return scrubSecrets(a.message);
  try {
    return scrubSecrets(JSON.stringify(a));
  } catch {
    return '[unserializable]';
  }
};

/**
 * Bolt's logger on pino, with token-shaped text scrubbed from every line. With
 * `dropDebug`, debug lines are dropped: the Web API client logs whole request bodies and
 * results at debug, and one of them carries the new secret (DM or fallback modal).
 */
export function slackLogger(log: Logger, opts: { dropDebug?: boolean } = {}): SlackLogger {
  const inner = boltLogger(log);
  // Level first: scrubbing is not free, and Bolt builds debug strings of whole payloads.
  const wrap =
    (level: 'debug' | 'info' | 'warn' | 'error', fn: (...a: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (log.isLevelEnabled(level)) fn(...args.map(scrubArg));
    };
  return {
    debug: opts.dropDebug ? () => undefined : wrap('debug', (...a) => inner.debug(...a)),
    info: wrap('info', (...a) => inner.info(...a)),
    warn: wrap('warn', (...a) => inner.warn(...a)),
    error: wrap('error', (...a) => inner.error(...a)),
    setLevel: () => undefined,
    getLevel: () => (opts.dropDebug && inner.getLevel() === LogLevel.DEBUG ? LogLevel.INFO : inner.getLevel()),
    setName: () => undefined,
  };
}
