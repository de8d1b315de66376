import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { apiKeyModel } from './models/api-key.js';
import { auditEventModel } from './models/audit-event.js';
import { deliveryModel } from './models/delivery.js';
import { dependentModel } from './models/dependent.js';
import { keyUsageModel } from './models/key-usage.js';
import { communityModel, memberModel } from './models/member.js';

/** Every model, bound to one connection. */
export function models(conn: Connection) {
  return {
    apiKeys: apiKeyModel(conn),
    keyUsage: keyUsageModel(conn),
    members: memberModel(conn),
    communities: communityModel(conn),
    auditEvents: auditEventModel(conn),
    dependents: dependentModel(conn),
    deliveries: deliveryModel(conn),
  };
}
export type Models = ReturnType<typeof models>;

export interface Mongo {
  conn: Connection;
  models: Models;
  /** The URI in use (the embedded server's when MONGODB_URI is unset). */
  uri: string;
  close(): Promise<void>;
}

/**
 * Connects, creates the indexes the queries need, and returns the models. With no URI, an
 * embedded mongodb-memory-server keeps its data under `dataDir` (for `npm start` on a laptop).
 */
export async function connectMongo(uri: string | undefined, opts: { dataDir?: string; dbName?: string } = {}): Promise<Mongo> {
  let stopEmbedded: (() => Promise<unknown>) | undefined;
  let target = uri;
  if (!target) {
    const { MongoMemoryServer } = await import('mongodb-memory-server');
    const dbPath = resolve(opts.dataDir ?? '.data', 'mongodb');
    mkdirSync(dbPath, { recursive: true });
    const server = await MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } });
    target = server.getUri('keywarden');
    stopEmbedded = () => server.stop({ doCleanup: false, force: false });
  }
  const conn = mongoose.createConnection(target, {
    serverSelectionTimeoutMS: 5_000,
    ...(opts.dbName ? { dbName: opts.dbName } : {}),
  });
  try {
    await conn.asPromise();
  } catch (e) {
    await conn.close().catch(() => undefined);
    await stopEmbedded?.();
    throw new Error(`MONGODB_URI: cannot connect to MongoDB (${(e as Error).message.split('\n')[0]})`);
  }
  const m = models(conn);
  await Promise.all(Object.values(m).map((model) => model.createIndexes()));
  return {
    conn,
    models: m,
    uri: target,
    async close() {
      await conn.close();
      await stopEmbedded?.();
    },
  };
}

/** True when MongoDB answers a ping. */
export async function mongoReachable(conn: Connection): Promise<boolean> {
  try {
    await conn.db?.admin().ping();
    return conn.readyState === 1;
  } catch {
    return false;
  }
}
