import { AdminTokenService } from './admin-tokens/admin-token-service.js';
import { AuditLog } from './audit/audit-log.js';
import { RequestService } from './requests/request-service.js';
import type { Config } from './config/env.js';
import { DeliveryRepository } from './store/delivery-repository.js';
import { DependentRepository } from './store/dependent-repository.js';
import { DependentService } from './dependents/dependent-service.js';
import { SecretBox } from './dependents/secret-box.js';
import { KeyService } from './keys/key-service.js';
import type { RevocationAnnouncer } from './keys/revocation-announcer.js';
import type { Logger } from './log.js';
import { MemberService } from './members/member-service.js';
import type { Member } from './members/member-record.js';
import { RedisRevocationAnnouncer } from './revocation/redis-announcer.js';
import { loadRoleCatalog, type RoleCatalog } from './roles/catalog.js';
import { AdminTokenRepository } from './store/admin-token-repository.js';
import { AuditRepository } from './store/audit-repository.js';
import { MemberDirectory, memberDirectoryRedis } from './store/member-directory.js';
import { MemberRepository } from './store/member-repository.js';
import { RequestRepository } from './store/request-repository.js';
import { directoryRedis, KeyDirectory } from './store/key-directory.js';
import { KeyRepository } from './store/key-repository.js';
import { KeyUsageRepository } from './store/key-usage-repository.js';
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
  /** Serves key lists from memory, kept fresh through Redis (src/store/key-directory.ts). */
  keyDirectory: KeyDirectory;
  /** The one writer of lastUsedAt (the verifiers' recorder writes through it). */
  keyUsage: KeyUsageRepository;
  keys: KeyService;
  dependents: DependentService;
  /** Tells every verifier of revocations (KeyService and the sweeper use it). */
  announcer: RevocationAnnouncer;
  /** Seals and opens webhook signing secrets with SECRETS_KEY. */
  secrets: SecretBox;
  /** The dependents' store, secrets sealed by {@link secrets}. */
  dependentRepo: DependentRepository;
  /** Tokens of the management API. */
  adminTokens: AdminTokenService;
  /** Key requests and their approvals. */
  requests: RequestService;
  /** Closes what the core opened besides MongoDB (the announcer's and the key directory's Redis connections). */
  close(): Promise<void>;
}

export function createCore(
  config: Config,
  log: Logger,
  mongo: Mongo,
  roles: RoleCatalog = loadRoleCatalog(config.ROLES_FILE),
  clock: Clock = clockFor(config),
  /** Replaces the Redis announcer (tests of the announcer's contract). */
  announcerOverride?: RevocationAnnouncer,
): Core {
  const audit = new AuditLog(new AuditRepository(mongo.models));
  // Its Redis keys carry the database name too. Members are read through it (one read per
  // community while the membership epoch holds); each change bumps the epoch. It reads a
  // community through the repository it serves (a read that does not consult it).
  const memberDirectory: MemberDirectory = new MemberDirectory(
    memberDirectoryRedis(config.REDIS_URL),
    (c): Promise<Member[]> => memberRepo.ofCommunity(c),
    log.child({ component: 'member-directory' }),
    {
      namespace: `${config.QUEUE_PREFIX}:${mongo.conn.name}`,
    },
  );
  const memberRepo = new MemberRepository(mongo.models, memberDirectory);
  const members = new MemberService(memberRepo, audit, config.ADMIN_SLACK_USER_IDS);
  const directoryLog = log.child({ component: 'key-directory' });
  // Its Redis keys carry the database name: deployments sharing a Redis stay apart.
  const keyDirectory = new KeyDirectory(mongo.models, directoryRedis(config.REDIS_URL, directoryLog), directoryLog, clock, {
    namespace: `${config.QUEUE_PREFIX}:${mongo.conn.name}`,
  });
  const keyUsage = new KeyUsageRepository(mongo.models, log.child({ component: 'key-usage' }), keyDirectory);
  const keyRepo = new KeyRepository(mongo.models, keyDirectory, keyUsage);
  const redisAnnouncer = announcerOverride ? undefined : new RedisRevocationAnnouncer(config, log.child({ component: 'announcer' }));
  const announcer = announcerOverride ?? redisAnnouncer!;
  const keys = new KeyService(keyRepo, members, roles, audit, announcer, log.child({ component: 'keys' }), {
    prefix: config.KEY_PREFIX,
    pepper: config.KEY_PEPPER,
    clock,
  });
  const secrets = new SecretBox(config.SECRETS_KEY ?? []);
  const dependentRepo = new DependentRepository(mongo.models, secrets);
  const dependents = new DependentService(
    dependentRepo,
    keyRepo,
    new DeliveryRepository(mongo.models),
    members,
    audit,
    log.child({ component: 'dependents' }),
    {
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    },
  );
  const adminTokens = new AdminTokenService(new AdminTokenRepository(mongo.models), members, audit, log.child({ component: 'admin-tokens' }), clock, {
    keyPrefix: config.KEY_PREFIX,
    pepper: config.KEY_PEPPER,
  });
  const requests = new RequestService(new RequestRepository(mongo.models), keys, members, audit, clock, {
    openToAll: config.REQUESTS_OPEN_TO_ALL,
    ttlDays: config.REQUEST_TTL_DAYS,
    fourEyes: config.FOUR_EYES,
  });
  return {
    config,
    log,
    clock,
    mongo,
    roles,
    audit,
    members,
    keyRepo,
    keyDirectory,
    keyUsage,
    keys,
    dependents,
    announcer,
    secrets,
    dependentRepo,
    adminTokens,
    requests,
    async close() {
      redisAnnouncer?.close();
      keyDirectory.close();
      memberDirectory.close();
    },
  };
}
