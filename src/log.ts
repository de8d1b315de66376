import { pino, type DestinationStream, type Logger } from 'pino';
import type { Logger as SlackLogger } from '@slack/bolt';
import { LogLevel } from '@slack/bolt';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]" wherever they appear. Tokens are never passed to
 * the logger on purpose; this is the second line of defence.
 */
export const redactPaths = [
  'token',
  '*.token',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'signingSecret',
  '*.signingSecret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  'headers.cookie',
  '*.headers.cookie',
  'botToken',
  'appToken',
  '*.botToken',
  '*.appToken',
  'view.private_metadata',
];

/** The root logger. Child loggers carry requestId, jobId, communityId. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keywarden', pid: process.pid },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const toBolt: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
  silent: LogLevel.ERROR,
};

/** Bolt's Logger interface on top of a pino child logger. */
export function boltLogger(log: Logger): SlackLogger {
  const child = log.child({ lib: 'bolt' });
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  return {
    debug: (...a: unknown[]) => child.debug(text(a)),
    info: (...a: unknown[]) => child.info(text(a)),
    warn: (...a: unknown[]) => child.warn(text(a)),
    error: (...a: unknown[]) => child.error(text(a)),
    setLevel: () => undefined,
    getLevel: () => toBolt[child.level] ?? LogLevel.INFO,
    setName: () => undefined,
  };
}
