import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { loadConfig, withExternalServices, type Config } from '../../src/config/env.js';
import { createLogger, type Logger } from '../../src/log.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';

/** A database name of its own for each test file (and each call). */
export const uniqueDbName = (label = 'test') => `kw_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomUUID().slice(0, 8)}`;

/**
 * The MongoDB URI for a database of the test server. Each client gets a small pool unless
 * the base URI says otherwise: FerretDB v1 deadlocks when its own PostgreSQL pool runs dry
 * while a database is created or dropped, so the tests keep their total in-flight operations
 * below it.
 */
export function mongoUriFor(dbName: string, query: Record<string, string> = {}): string {
  const u = new URL(inject('mongoBaseUri'));
  u.pathname = `/${dbName}`;
  if (!u.searchParams.has('maxPoolSize')) u.searchParams.set('maxPoolSize', '6');
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

export const redisUrl = () => inject('redisUrl');

/** A fresh database; `drop()` removes it (call it in afterAll). */
export async function openTestMongo(label?: string, query: Record<string, string> = {}): Promise<Mongo & { dbName: string; drop(): Promise<void> }> {
  const dbName = uniqueDbName(label);
  const mongo = await connectMongo(mongoUriFor(dbName, query));
  return {
    ...mongo,
    dbName,
    async drop() {
      await mongo.conn.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

/** A config as the app would load it, with test defaults and overrides. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return withExternalServices(
    loadConfig({
      MONGODB_URI: inject('mongoBaseUri'),
      SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
      REDIS_URL: redisUrl(),
      ADMIN_SLACK_USER_IDS: 'UADMIN1',
      LOG_LEVEL: 'debug',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      ...overrides,
    }),
    'tests',
  );
}

/** A logger whose every line is kept, so tests can search the logs for secrets. */
export function captureLogger(level = 'debug'): { log: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger(level, sink), lines, text: () => lines.join('\n') };
}
