import { randomUUID } from 'node:crypto';
import { createCore, type Core } from '../../src/core.js';
import { createApiServer, type HttpServer } from '../../src/http/server.js';
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/http/verifier.js';
import { captureLogger, openTestMongo, testConfig } from './services.js';

/** A response body as loosely typed JSON: tests assert its shape. */

export const json = (res: Response): Promise<any> => res.json();

export const COMMUNITY = 'T0TEST';
export const admin = { communityId: COMMUNITY, userId: 'UADMIN1' };

export interface VerifyApp {
  core: Core;
  verifier: Verifier;
  http: HttpServer;
  base: string;
  mongo: Awaited<ReturnType<typeof openTestMongo>>;
  logs: ReturnType<typeof captureLogger>;
  /** Creates a key through the domain, as an admin of T0TEST. */
  createKey(over?: { name?: string; roles?: string[] }): Promise<{ keyId: string; token: string }>;
  /** POST /v1/keys/verify with a JSON body (or a raw string) and extra headers. */
  verify(body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** The verify API on a fresh database and queue prefix, listening on a free port. */
export async function startVerifyApp(
  env: Record<string, string> = {},
  opts: VerifierOptions = {},
  mongoQuery: Record<string, string> = {},
): Promise<VerifyApp> {
  const mongo = await openTestMongo('verify', mongoQuery);
  const logs = captureLogger();
  const core = createCore(testConfig({ QUEUE_PREFIX: `kwtest-${randomUUID().slice(0, 8)}`, ...env }), logs.log, mongo);
  const verifier = createVerifier(core, opts);
  const http = createApiServer(core, { verifier });
  const port = await http.listen(0);
  const base = `http://127.0.0.1:${port}`;
  return {
    core,
    verifier,
    http,
    base,
    mongo,
    logs,
    async createKey(over = {}) {
      const { key, token } = await core.keys.create(admin, {
        name: over.name ?? 'SOAR playbook runner',
        description: 'Runs phishing triage playbooks',
        roles: over.roles ?? ['ic_viewer', 'orchestrate_playbook_runner'],
      });
      return { keyId: key.keyId, token };
    },
    verify(body, headers = {}) {
      return fetch(`${base}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async close() {
      await http.close();
      await verifier.close();
      await core.close();
      await mongo.drop();
    },
  };
}
