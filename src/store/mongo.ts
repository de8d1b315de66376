import mongoose, { type Connection } from 'mongoose';
import { adminTokenModel } from './models/admin-token.js';
import { apiKeyModel } from './models/api-key.js';
import { auditEventModel } from './models/audit-event.js';
import { deliveryLogModel, deliveryModel, fanoutClaimModel } from './models/delivery.js';
import { dependentModel } from './models/dependent.js';
import { idempotencyModel } from './models/idempotency.js';
import { keyRequestModel, requestDecisionModel, requestMarkModel, requestMessageModel } from './models/key-request.js';
import { keyRefModel } from './models/key-ref.js';
import { keyUsageModel } from './models/key-usage.js';
import { backfillKeyRefs } from './key-repository.js';
import { communityModel, memberModel } from './models/member.js';
import { revocationNoticeModel } from './models/revocation-notice.js';

/** Every model, bound to one connection. */
export function models(conn: Connection) {
  return {
    apiKeys: apiKeyModel(conn),
    keyRefs: keyRefModel(conn),
    keyUsage: keyUsageModel(conn),
    members: memberModel(conn),
    communities: communityModel(conn),
    auditEvents: auditEventModel(conn),
    dependents: dependentModel(conn),
    deliveries: deliveryModel(conn),
    deliveryLog: deliveryLogModel(conn),
    fanoutClaims: fanoutClaimModel(conn),
    adminTokens: adminTokenModel(conn),
    idempotency: idempotencyModel(conn),
    keyRequests: keyRequestModel(conn),
    requestDecisions: requestDecisionModel(conn),
    requestMessages: requestMessageModel(conn),
    requestMarks: requestMarkModel(conn),
    revocationNotices: revocationNoticeModel(conn),
  };
}
export type Models = ReturnType<typeof models>;

export interface Mongo {
  conn: Connection;
  models: Models;
  /** The URI in use. */
  uri: string;
  close(): Promise<void>;
}

/**
 * Connects, creates the indexes the queries need, writes the key refs that older versions
 * did not (see models/key-ref.ts), and returns the models. A server of its own
 * when MONGODB_URI is unset comes from src/devservices, before this.
 */
export async function connectMongo(uri: string, opts: { dbName?: string } = {}): Promise<Mongo> {
  const conn = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: 5_000,
    ...(opts.dbName ? { dbName: opts.dbName } : {}),
  });
  try {
    await conn.asPromise();
  } catch (e) {
    await conn.close().catch(() => undefined);
    throw new Error(`MONGODB_URI: cannot connect to MongoDB (${(e as Error).message.split('\n')[0]})`);
  }
  const m = models(conn);
  await Promise.all(Object.values(m).map((model) => model.createIndexes()));
  // Keys written before `key_refs` existed get theirs, so that lookups by `_id` find them.
  await backfillKeyRefs(m);
  return {
    conn,
    models: m,
    uri,
    close: () => conn.close(),
  };
}

/** True when MongoDB answers a ping. */
export async function mongoReachable(conn: Connection): Promise<boolean> {
  try {
    await conn.db?.admin().ping();
    return conn.readyState === mongoose.ConnectionStates.connected;
  } catch {
    return false;
  }
}
