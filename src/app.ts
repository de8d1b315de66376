import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core } from './core.js';
import type { Part } from './main/run.js';
import { createSlackApp } from './slack/app.js';
import { createApiServer, createPublicServer } from './http/server.js';
import { createManagementApi } from './http/management/index.js';
import { createVerifier } from './http/verifier.js';
import { createRevocationPublisher, startWorkers } from '../jobs/index.js';

/**
 * The API side: the internal HTTP API on API_HOST:API_PORT (verify, health, readiness,
 * metrics), and Slack's public server on PORT (/slack/events unless in Socket Mode, and
 * /healthz); revocations are handed to the queue and dropped from every cache.
 */
export async function startApi(core: Core): Promise<Part[]> {
  const { config, log } = core;
  const parts: Part[] = [];
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked, publisher.onRevokedMany);
  core.keys.onRolled(publisher.onRolled);
  core.dependents.onLateDelivery(publisher.onLateDelivery);
  parts.push({ name: 'publisher', stop: () => publisher.close() });

  const verifier = createVerifier(core);
  parts.push({ name: 'verifier', stop: () => verifier.close() });

  // The verify API must not wait for Slack: listen first, and answer Slack with 503 (Slack
  // retries) until auth.test has succeeded, which can take long when Slack is unreachable.
  const socketMode = Boolean(config.SLACK_APP_TOKEN);
  // eslint-disable-next-line prefer-const -- read by the 503 fallback below before Bolt is ready and assigned then
  let slackListener: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const management = createManagementApi(core);
  parts.push({ name: 'management', stop: () => management.close() });
  const api = createApiServer(core, { verifier, queues: publisher.queues, routes: management.routes });
  const apiPort = await api.listen(config.API_PORT, config.API_HOST);
  log.info({ port: apiPort, host: config.API_HOST }, 'http api listening');
  parts.push({ name: 'http-api', stop: () => api.close() });
  const pub = createPublicServer(core, {
    slackListener: socketMode ? undefined : (req, res) => (slackListener ? slackListener(req, res) : void res.writeHead(503, { 'retry-after': '2' }).end()),
  });
  const port = await pub.listen(config.PORT);
  log.info({ port, socketMode }, 'http listening');
  parts.push({ name: 'http', stop: () => pub.close() });
  const slack = await createSlackApp(core);
  slackListener = slack.requestListener;
  await slack.start();
  parts.push({ name: 'slack', stop: () => slack.stop() });
  return parts;
}

/** The worker side: BullMQ workers for revocations and webhooks, and the sweeper. */
export async function startWorkerParts(core: Core): Promise<Part[]> {
  const workers = await startWorkers(core, { lockDuration: core.config.JOB_LOCK_MS, stalledInterval: core.config.JOB_STALLED_INTERVAL_MS });
  return [{ name: 'workers', stop: () => workers.close() }];
}
