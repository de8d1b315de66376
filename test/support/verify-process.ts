// A test-only entry point: the domain, the verifier and the HTTP server built from the
// environment like src/main does (no Slack, no workers), plus one route that exists only
// here: POST /test/revoke {"keyId"} revokes through this process's KeyService as UADMIN1 of
// T0TEST, so that the revocation is announced from this process (and answered with
// `staleUpToMs`, what a Slack reply would say).
// Listens on API_PORT. Prints "READY <port>" once listening; stops on SIGTERM.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig, withExternalServices } from '../../src/config/env.js';
import { createCore } from '../../src/core.js';
import { readBody } from '../../src/http/body.js';
import { sendError, sendJson } from '../../src/http/errors.js';
import { createApiServer } from '../../src/http/server.js';
import { createVerifier } from '../../src/http/verifier.js';
import { createLogger } from '../../src/log.js';
import { connectMongo } from '../../src/store/mongo.js';

const config = withExternalServices(loadConfig(process.env), 'a test process');
const log = createLogger(config.LOG_LEVEL);
const mongo = await connectMongo(config.MONGODB_URI);
const core = createCore(config, log, mongo);
const verifier = createVerifier(core);
const http = createApiServer(core, { verifier });

const app = http.server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
http.server.removeAllListeners('request');
http.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  if (req.method !== 'POST' || req.url !== '/test/revoke') return app(req, res);
  readBody(req)
    .then(async (raw) => {
      const { keyId } = JSON.parse(raw.toString()) as { keyId: string };
      const { changed, staleUpToMs } = await core.keys.revoke({ communityId: 'T0TEST', userId: 'UADMIN1' }, keyId);
      sendJson(res, 200, { changed, staleUpToMs }, 'test');
    })
    .catch((e: unknown) => sendError(res, e, 'test', log));
});

const port = await http.listen(config.API_PORT, config.API_HOST);
process.stdout.write(`READY ${port}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await http.close();
    await verifier.close();
    await core.close();
    await mongo.close();
    process.exit(0);
  })();
});
