import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z.coerce
    .number({ message: `must be a whole number from ${min} to ${max}` })
    .int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be a whole number from ${min} to ${max}` })
    .max(max, { message: `must be a whole number from ${min} to ${max}` });

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const slackUserIds = z
  .string()
  .transform((s) => s.split(',').map((id) => id.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, { message: 'must be comma-separated Slack user ids like U012AB3CD' })));

/** Milliseconds, comma-separated, for the webhook retry schedule. */
const msList = z
  .string()
  .transform((s) => s.split(',').map((p) => Number(p.trim())))
  .pipe(z.array(z.number().int().min(0)).min(1, { message: 'must list at least one delay in ms' }));

/**
 * The whole environment of DESIGN.md "Processes and configuration", plus a few tuning
 * knobs of our own. Nothing else in the code base reads `process.env`.
 */
export const envSchema = z.object({
  /** Slack signing secret: every request to /slack/events is verified with it. */
  SLACK_SIGNING_SECRET: z.string({ message: 'is required (Slack app > Basic Information > Signing Secret)' }).min(8, { message: 'must be the Slack signing secret' }),
  /** Bot token (`xoxb-…`) used for every Web API call. */
  SLACK_BOT_TOKEN: z.string({ message: 'is required (Slack app > OAuth & Permissions > Bot User OAuth Token)' }).min(8, { message: 'must be the bot token (xoxb-…)' }),
  /** App-level token (`xapp-…`); when set, the app uses Socket Mode instead of HTTP. */
  SLACK_APP_TOKEN: optional(z.string().startsWith('xapp-', { message: 'must be an app-level token starting with xapp-' })),
  /** Base URL of the Slack Web API (tests point it at a local fake). */
  SLACK_API_URL: optional(z.url({ message: 'must be a URL such as https://slack.com/api/' })),
  /** MongoDB connection string; unset: an embedded mongodb-memory-server keeping data under .data/. */
  MONGODB_URI: optional(z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, { message: 'must be a mongodb:// or mongodb+srv:// URI' })),
  /** Redis for BullMQ and cache invalidation. */
  REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
  /** HTTP port for /slack/events, the verify API, health and metrics. */
  PORT: int(0, 65535).default(3000),
  /** Slack user ids that are admins of every community they appear in (seeded once per id). */
  ADMIN_SLACK_USER_IDS: slackUserIds.default([]),
  /** Channel that receives revocation notices. */
  NOTIFY_CHANNEL_ID: optional(z.string().regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a Slack channel id like C012AB3CD' })),
  /** Prefix of every token, before the underscore. */
  KEY_PREFIX: z.string().regex(/^[a-z][a-z0-9]{1,11}$/, { message: 'must be 2-12 lowercase letters or digits, starting with a letter' }).default('kw'),
  /** Optional pepper: tokens are stored as HMAC-SHA256(pepper, token) instead of SHA-256(token). */
  KEY_PEPPER: optional(z.string().min(16, { message: 'must be at least 16 characters' })),
  /** YAML or JSON file replacing the shipped role catalog. */
  ROLES_FILE: optional(z.string().min(1)),
  /** When set, POST /v1/keys/verify requires `Authorization: Bearer <VERIFY_TOKEN>`. */
  VERIFY_TOKEN: optional(z.string().min(16, { message: 'must be at least 16 characters' })),
  /** Lifts the https-only and no-private-address rules for webhook URLs (tests, on-prem). */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),

  /** Delays (ms) between webhook attempts; attempts = delays + 1. Default: 5 s … 10 h, about a day in all. */
  WEBHOOK_RETRY_SCHEDULE: msList.default([5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  /** Timeout of one webhook POST. */
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  /** Concurrent webhook deliveries per worker process. */
  WEBHOOK_CONCURRENCY: int(1, 1000).default(50),
  /** Concurrent revocation fan-outs per worker process. */
  REVOCATION_CONCURRENCY: int(1, 100).default(5),
  /** How often the sweeper looks for pending revocations whose job is missing. */
  SWEEP_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  /** A pending revocation older than this is re-enqueued by the sweeper. */
  SWEEP_GRACE_MS: int(0, 3_600_000).default(10_000),
  /** BullMQ key prefix; use a hash tag such as {keywarden} on Redis Cluster. */
  QUEUE_PREFIX: z.string().min(1).default('keywarden'),
  /** Upper bound on how long a revoked key may stay cached if an invalidation message is lost. */
  VERIFY_CACHE_TTL_MS: int(0, 600_000).default(30_000),
  /** Entries in each process's verification cache. */
  VERIFY_CACHE_MAX: int(0, 10_000_000).default(100_000),
  /** Grace period for in-flight requests and jobs on SIGTERM. */
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
  /** Where the embedded MongoDB keeps its data when MONGODB_URI is unset. */
  DATA_DIR: z.string().min(1).default('.data'),
});

/** Validated configuration. */
export type Config = z.infer<typeof envSchema>;

/** A configuration problem: one line per invalid or missing variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parses an environment; throws ConfigError with one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    return `${name} ${issue.message}`;
  });
  throw new ConfigError([...new Set(problems)]);
}
