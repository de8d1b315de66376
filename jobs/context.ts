import { WebClient } from '@slack/web-api';
import type { AuditLog } from '../src/audit/audit-log.js';
import type { Config } from '../src/config/env.js';
import type { Core } from '../src/core.js';
import { DeliveryRepository } from '../src/store/delivery-repository.js';
import type { DependentRepository } from '../src/store/dependent-repository.js';
import type { KeyService } from '../src/keys/key-service.js';
import type { Logger } from '../src/log.js';
import type { RequestService } from '../src/requests/request-service.js';
import type { RoleCatalog } from '../src/roles/catalog.js';
import { slackLogger } from '../src/slack/logging.js';
import type { KeyRepository } from '../src/store/key-repository.js';
import type { Clock } from '../src/util/clock.js';
import { ReminderStore } from '../src/store/reminder-store.js';
import { NoticeUpdates } from './notices.js';
import { NotificationStore } from '../src/store/notification-store.js';
import type { Queues } from './queues.js';

/** What the processors need; built once per worker process from the Core. */
export interface JobDeps {
  config: Config;
  log: Logger;
  /** The domain's clock: when expiries and reminders are due. */
  clock: Clock;
  keyRepo: KeyRepository;
  /** For announcing revocations (KeyService.announce) from the sweeper. */
  keys: KeyService;
  dependents: DependentRepository;
  deliveries: DeliveryRepository;
  notifications: NotificationStore;
  reminders: ReminderStore;
  audit: AuditLog;
  /** Key requests: the request scan's lapses, outcomes and collect notices. */
  requests: RequestService;
  /** Role labels for the request messages. */
  roles: RoleCatalog;
  slack: WebClient;
  /** Spaces out the `chat.update`s of each notice (one instance per worker process). */
  noticeUpdates: NoticeUpdates;
  queues: Queues;
}

/**
 * The Slack Web API client of the jobs: a few retries, errors through our logger. Its debug
 * lines (whole request bodies) are dropped, as for the bot's client.
 */
export function slackClient(config: Config, log: Logger): WebClient {
  return new WebClient(config.SLACK_BOT_TOKEN, {
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    timeout: 10_000,
    logger: slackLogger(log.child({ component: 'slack-web-api' }), { dropDebug: true }),
  });
}

export function jobDeps(core: Core, queues: Queues): JobDeps {
  const log = core.log.child({ component: 'jobs' });
  return {
    config: core.config,
    log,
    clock: core.clock,
    keyRepo: core.keyRepo,
    keys: core.keys,
    dependents: core.dependentRepo,
    deliveries: new DeliveryRepository(core.mongo.models),
    notifications: new NotificationStore(core.keyRepo, core.mongo.models),
    reminders: new ReminderStore(core.mongo.conn),
    audit: core.audit,
    requests: core.requests,
    roles: core.roles,
    slack: slackClient(core.config, log),
    noticeUpdates: new NoticeUpdates(),
    queues,
  };
}
