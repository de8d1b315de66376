import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseSecretsKeys, type SecretsKey } from '../dependents/secret-box.js';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z.coerce
    .number({ message: `must be a whole number from ${min} to ${max}` })
    .int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be a whole number from ${min} to ${max}` })
    .max(max, { message: `must be a whole number from ${min} to ${max}` });

const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const slackUserIds = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, { message: 'must be comma-separated Slack user ids like U012AB3CD' })));

/** Milliseconds, comma-separated, for the webhook retry schedule. */
const msList = z
  .string()
  .transform((s) => s.split(',').map((p) => Number(p.trim())))
  .pipe(z.array(z.number().int().min(0)).min(1, { message: 'must list at least one delay in ms' }));

/** SECRETS_KEY: the keys that encrypt webhook signing secrets at rest, first one sealing. */
const secretsKeys = z.string().transform((raw, ctx): SecretsKey[] => {
  const parsed = parseSecretsKeys(raw);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

/**
 * The whole environment (README "Processes" and "Configuration"), including a few tuning
 * knobs of our own. Nothing else in the code base reads `process.env`.
 */
export const envSchema = z.object({
  SLACK_SIGNING_SECRET: z
    .string({ message: 'is required (Slack app > Basic Information > Signing Secret)' })
    .min(8, { message: 'must be the Slack signing secret' })
    .describe('Slack signing secret: every request to /slack/events is verified with it.'),
  SLACK_BOT_TOKEN: z
    .string({ message: 'is required (Slack app > OAuth & Permissions > Bot User OAuth Token)' })
    .min(8, { message: 'must be the bot token (xoxb-…)' })
    .describe('Bot token (`xoxb-…`) used for every Web API call.'),
  SLACK_APP_TOKEN: optional(z.string().startsWith('xapp-', { message: 'must be an app-level token starting with xapp-' })).describe(
    'App-level token (`xapp-…`); when set, the app uses Socket Mode instead of HTTP.',
  ),
  SLACK_API_URL: optional(z.url({ message: 'must be a URL such as https://slack.com/api/' })).describe(
    'Base URL of the Slack Web API (tests point it at a local fake).',
  ),
  MONGODB_URI: optional(z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, { message: 'must be a mongodb:// or mongodb+srv:// URI' })).describe(
    'MongoDB connection string. Unset: `npm start` starts mongodb-memory-server, or else FerretDB (built once), with its data under DATA_DIR; `start:bot` and `start:worker` require it.',
  ),
  REDIS_URL: optional(z.string().regex(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' })).describe(
    'Redis for BullMQ and cache invalidation. Unset: `npm start` uses LOCAL_REDIS_URL if a Redis answers there, else starts `redis-server` with its data under DATA_DIR; `start:bot` and `start:worker` require it.',
  ),
  LOCAL_REDIS_URL: z
    .string()
    .regex(/^redis:\/\/\S+$/, { message: 'must be a redis:// URL' })
    .default('redis://127.0.0.1:6379')
    .describe('With REDIS_URL unset: the already running Redis that `npm start` tries first.'),
  PORT: int(0, 65535).default(3000).describe('Public HTTP port, for Slack and GitHub: serves only /slack/events, /v1/secret-scanning/github and /healthz.'),
  API_PORT: int(0, 65535).default(3001).describe('Internal HTTP port: the verify API, /healthz, /readyz, /metrics and /openapi.json. Must differ from PORT.'),
  API_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe(
      'Address API_PORT listens on. The default keeps the API on this host; set 0.0.0.0 (as docker-compose.yml does) only where the network in front is private.',
    ),
  ADMIN_SLACK_USER_IDS: slackUserIds.default([]).describe('Slack user ids that are admins of every community they appear in (seeded once per id).'),
  NOTIFY_CHANNEL_ID: optional(z.string().regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a Slack channel id like C012AB3CD' })).describe(
    'Channel that receives revocation notices.',
  ),
  KEY_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{1,11}$/, { message: 'must be 2-12 lowercase letters or digits, starting with a letter' })
    .default('kw')
    .describe('Prefix of every token, before the underscore.'),
  KEY_PEPPER: optional(z.string().min(16, { message: 'must be at least 16 characters' })).describe(
    'Optional pepper: tokens are stored as HMAC-SHA256(pepper, token) instead of SHA-256(token).',
  ),
  ROLES_FILE: optional(z.string().min(1)).describe('YAML or JSON file replacing the shipped role catalog.'),
  VERIFY_TOKEN: optional(z.string().min(16, { message: 'must be at least 16 characters' })).describe(
    'When set, POST /v1/keys/verify requires `Authorization: Bearer <VERIFY_TOKEN>`.',
  ),
  SECRETS_KEY: optional(secretsKeys).describe(
    'Keys that encrypt webhook signing secrets at rest (AES-256-GCM): comma-separated `id:base64` entries of 32 bytes each (`k1:$(openssl rand -base64 32)`); the first encrypts, all decrypt, so rotate by putting a new key first. At start-up every secret not under the first key is re-encrypted with it. Unset: secrets are stored in plain text (start-up warns), and start-up is refused once any secret is encrypted.',
  ),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false).describe('Lifts the https-only and no-private-address rules for webhook URLs (tests, on-prem).'),
  GITHUB_SECRET_SCANNING_KEYS_URL: z
    .url({ message: 'must be a URL' })
    .default('https://api.github.com/meta/public_keys/secret_scanning')
    .describe(
      'Where GitHub publishes the public keys that sign secret-scanning alerts to POST /v1/secret-scanning/github (fetched once, again only for an unknown key identifier, at most once a minute).',
    ),
  LEAK_GUARD: bool
    .default(false)
    .describe(
      'When true, a message or edit in any conversation the bot is in that contains a live key revokes it as leaked and warns the poster ephemerally. Needs the optional message events and `*:history` scopes of manifest.yml (README "Leaked keys").',
    ),
  APPROVALS_CHANNEL_ID: optional(z.string().regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a Slack channel id like C012AB3CD' })).describe(
    'Channel where key requests (`/apikey request`) are posted with Approve/Deny; unset: each admin gets them by DM.',
  ),
  REQUESTS_OPEN_TO_ALL: bool.default(false).describe('When true, every workspace member may request a key, not only viewers.'),
  REQUEST_TTL_DAYS: int(1, 90)
    .default(7)
    .describe('Days after which an undecided key request lapses; an approved key not yet collected stays collectable this many days after the approval.'),
  FOUR_EYES: bool.default(false).describe("When true, an admin's own key request must be approved by another admin."),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' })
    .default('info')
    .describe('pino level.'),

  WEBHOOK_RETRY_SCHEDULE: msList
    .default([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000])
    .describe(
      'Delays (ms) between webhook attempts, each with ±20% jitter; attempts = delays + 1. Default (Standard Webhooks): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — about 27 h in all.',
    ),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000).describe('Timeout of one webhook POST.'),
  WEBHOOK_CONCURRENCY: int(1, 1000)
    .default(50)
    .describe('Concurrent webhook POSTs per worker process: the fan-outs’ first attempts together, and as many retries.'),
  REVOCATION_CONCURRENCY: int(1, 100)
    .default(50)
    .describe(
      'Revocation fan-outs (and key-life jobs) run at once per worker process; their POSTs share WEBHOOK_CONCURRENCY, so this mostly bounds the database work in flight.',
    ),
  JOB_LOCK_MS: int(1_000, 600_000)
    .default(30_000)
    .describe("Lock of an active job, renewed at half of it; a dead worker's jobs are taken over after it expires."),
  JOB_STALLED_INTERVAL_MS: int(1_000, 600_000).default(30_000).describe('How often workers look for jobs whose worker died (BullMQ stalled-job check).'),
  SWEEP_INTERVAL_MS: int(100, 3_600_000)
    .default(30_000)
    .describe('How often the sweeper looks for pending revocations whose job is missing, pending cache announcements and half-done revocations.'),
  SWEEP_GRACE_MS: int(0, 3_600_000).default(10_000).describe('A pending revocation (or announcement) older than this is taken over by the sweeper.'),
  QUEUE_PREFIX: z.string().min(1).default('keywarden').describe('BullMQ key prefix; use a hash tag such as {keywarden} on Redis Cluster.'),
  VERIFY_CACHE_TTL_MS: int(0, 600_000)
    .default(30_000)
    .describe(
      'Lifetime of a cached verification; also the most another bot may go on accepting a key revoked by a bot that could not reach Redis (the revoke says so).',
    ),
  VERIFY_CACHE_MAX: int(0, 10_000_000).default(100_000).describe("Entries in each process's cache of `valid` answers."),
  VERIFY_NEGATIVE_CACHE_MAX: int(0, 10_000_000)
    .default(10_000)
    .describe(
      "Entries in each process's separate cache of answers that are not valid (unknown, revoked, expired), so that forged tokens cannot evict `valid` entries.",
    ),
  VERIFY_MISS_LIMIT: int(0, 1_000_000)
    .default(100)
    .describe(
      'Checks answered `unknown` after a MongoDB read (forged or mistyped tokens with a good checksum) that one client may cause per VERIFY_MISS_WINDOW_MS, across all replicas (counted in Redis); then checks that need a read get 429 with Retry-After. 0: no limit.',
    ),
  VERIFY_MISS_WINDOW_MS: int(1_000, 3_600_000).default(60_000).describe('Window of VERIFY_MISS_LIMIT.'),
  VERIFY_CLIENT_IP_HEADER: optional(
    z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { message: 'must be a header name such as x-forwarded-for' })
      .transform((h) => h.toLowerCase()),
  ).describe(
    "Only behind a proxy you run: the header (e.g. `x-forwarded-for`) whose last address identifies the client for VERIFY_MISS_LIMIT. Unset: the connection's address.",
  ),
  MANAGEMENT_RATE_LIMIT: int(1, 1_000_000)
    .default(600)
    .describe(
      'Requests one admin token may make to the management API (`/v1/keys…`, `/v1/audit`) per MANAGEMENT_RATE_WINDOW_MS, across all replicas (counted in Redis); then 429 with Retry-After.',
    ),
  MANAGEMENT_RATE_WINDOW_MS: int(1_000, 3_600_000).default(60_000).describe('Window of MANAGEMENT_RATE_LIMIT.'),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000).describe('Grace period for in-flight requests and jobs on SIGTERM.'),
  ENV_FILE: z.string().min(1).default('.env').describe('File of KEY=value lines read at start-up for variables not already set; `none` reads nothing.'),
  CLOCK_OFFSET_FILE: optional(z.string().min(1)).describe(
    'Tests and drills only: a file holding milliseconds added to the wall clock (read on every use) so that several processes share a moved clock for expiry and reminders.',
  ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('.data')
    .describe('Where the MongoDB and Redis that `npm start` starts itself keep their data (`mongodb/` or `ferretdb/`, and `redis/`).'),
});

/** The environment as validated: MONGODB_URI and REDIS_URL may be unset (`npm start` then provides them). */
export type EnvConfig = z.infer<typeof envSchema>;

/** Validated configuration with its Redis decided: what the processes run on. */
export type Config = EnvConfig & { REDIS_URL: string };

/**
 * The configuration of a process that must be given its MongoDB and Redis (`start:bot`,
 * `start:worker`, test and bench processes): separate processes must share them, so only
 * `npm start` may start its own.
 */
export function withExternalServices(config: EnvConfig, role: string): Config & { MONGODB_URI: string } {
  const { MONGODB_URI, REDIS_URL } = config;
  if (MONGODB_URI && REDIS_URL) return { ...config, MONGODB_URI, REDIS_URL };
  const missing = [!MONGODB_URI && 'MONGODB_URI', !REDIS_URL && 'REDIS_URL'].filter(Boolean);
  throw new ConfigError(missing.map((v) => `${v} is required for ${role} (only \`npm start\` starts its own)`));
}

/** A configuration problem: one line per invalid or missing variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * Reads `.env` from the working directory, if there is one, into `env` without overriding
 * variables that are already set (the environment wins, as with `node --env-file`).
 */
export function loadDotEnv(env: NodeJS.ProcessEnv = process.env, file = env.ENV_FILE ?? '.env'): void {
  if (file === 'none' || !existsSync(file)) return;
  for (const [k, v] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (env[k] === undefined) env[k] = v;
  }
}

/** Parses an environment; throws ConfigError with one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const result = envSchema.safeParse(env);
  if (result.success) {
    const { PORT, API_PORT } = result.data;
    // One port for both would put the internal API on Slack's public side (or fail to listen).
    if (PORT === API_PORT && PORT !== 0) throw new ConfigError([`API_PORT must differ from PORT (both are ${PORT})`]);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    return `${name} ${issue.message}`;
  });
  throw new ConfigError([...new Set(problems)]);
}

/** One row per variable, for the README's configuration table (kept in step by a test). */
export function configRows(): Array<{ name: string; default: string; description: string }> {
  return Object.entries(envSchema.shape).map(([name, schema]) => {
    const parsed = (schema as z.ZodType).safeParse(undefined);
    const dflt = !parsed.success
      ? 'required'
      : parsed.data === undefined
        ? 'unset'
        : Array.isArray(parsed.data)
          ? parsed.data.join(',') || '(empty)'
          : typeof parsed.data === 'string' || typeof parsed.data === 'number' || typeof parsed.data === 'boolean'
            ? String(parsed.data)
            : JSON.stringify(parsed.data);
    return { name, default: dflt, description: (schema as z.ZodType).description ?? '' };
  });
}

/** The configuration table as Markdown. */
export function configTable(): string {
  const rows = configRows().map(
    (r) => `| \`${r.name}\` | ${r.default === 'required' || r.default === 'unset' ? r.default : `\`${r.default}\``} | ${r.description} |`,
  );
  return ['| variable | default | what it does |', '|---|---|---|', ...rows].join('\n');
}
