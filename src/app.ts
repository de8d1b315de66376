import type { Core } from './core.js';
import type { Part } from './main/run.js';
import { createSlackApp } from './slack/app.js';
import { createHttpServer } from './http/server.js';
import { createVerifier } from './http/verifier.js';
import { createRevocationPublisher, startWorkers } from '../jobs/index.js';

/**
 * The API side: one HTTP server on PORT for /slack/events (or Socket Mode), the verify API,
 * health and metrics; revocations are handed to the queue and dropped from every cache.
 */
export async function startApi(core: Core): Promise<Part[]> {
  const { config, log } = core;
  const parts: Part[] = [];
  const publisher = createRevocationPublisher(core);
  core.keys.onRevoked(publisher.onRevoked);
  parts.push({ name: 'publisher', stop: () => publisher.close() });

  const verifier = createVerifier(core);
  parts.push({ name: 'verifier', stop: () => verifier.close() });

  const slack = await createSlackApp(core);
  const http = createHttpServer(core, { verifier, slackListener: slack.requestListener, queues: publisher.queues });
  const port = await http.listen(config.PORT);
  log.info({ port, socketMode: Boolean(config.SLACK_APP_TOKEN) }, 'http listening');
  parts.push({ name: 'http', stop: () => http.close() });
  await slack.start();
  parts.push({ name: 'slack', stop: () => slack.stop() });
  return parts;
}

/** The worker side: BullMQ workers for revocations and webhooks, and the sweeper. */
export async function startWorkerParts(core: Core): Promise<Part[]> {
  const workers = await startWorkers(core, { lockDuration: core.config.JOB_LOCK_MS, stalledInterval: core.config.JOB_STALLED_INTERVAL_MS });
  return [{ name: 'workers', stop: () => workers.close() }];
}

