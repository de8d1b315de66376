import { AuditLog } from './audit/audit-log.js';
import type { Config } from './config/env.js';
import { DependentRepository } from './dependents/dependent-repository.js';
import { DependentService } from './dependents/dependent-service.js';
import { KeyService } from './keys/key-service.js';
import type { Logger } from './log.js';
import { MemberService } from './members/member-service.js';
import { loadRoleCatalog, type RoleCatalog } from './roles/catalog.js';
import { KeyRepository } from './store/key-repository.js';
import type { Mongo } from './store/mongo.js';
import { clockFor, type Clock } from './util/clock.js';

/** The domain, wired to its store: what every entry point builds first. */
export interface Core {
  config: Config;
  log: Logger;
  /** The one clock of the domain and the jobs (tests move it). */
  clock: Clock;
  mongo: Mongo;
  roles: RoleCatalog;
  audit: AuditLog;
  members: MemberService;
  keyRepo: KeyRepository;
  keys: KeyService;
  dependents: DependentService;
}

export function createCore(config: Config, log: Logger, mongo: Mongo, roles: RoleCatalog = loadRoleCatalog(config.ROLES_FILE), clock: Clock = clockFor(config)): Core {
  const audit = new AuditLog(mongo.models);
  const members = new MemberService(mongo.models, audit, config.ADMIN_SLACK_USER_IDS);
  const keyRepo = new KeyRepository(mongo.models);
  const keys = new KeyService(keyRepo, members, roles, audit, log.child({ component: 'keys' }), {
    prefix: config.KEY_PREFIX,
    pepper: config.KEY_PEPPER,
    clock,
  });
  const dependents = new DependentService(new DependentRepository(mongo.models), keyRepo, members, audit, log.child({ component: 'dependents' }), {
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
  });
  return { config, log, clock, mongo, roles, audit, members, keyRepo, keys, dependents };
}
