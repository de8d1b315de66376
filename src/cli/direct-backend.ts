import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { createRevocationPublisher } from '../../jobs/index.js';
import { loadConfig, loadDotEnv } from '../config/env.js';
import { createCore, type Core } from '../core.js';
import { provideServices } from '../devservices/index.js';
import { isKeyError } from '../errors.js';
import { toDependentView, toKeyView } from '../http/management/io.js';
import { createLogger } from '../log.js';
import type { Actor } from '../members/member-service.js';
import { knownCommunities } from '../store/communities.js';
import { connectMongo } from '../store/mongo.js';
import type { CliCommand } from './args.js';
import { CliError, EXIT } from './errors.js';

/** The community to act on: `--community`, else the only one in the database ('local' in an empty one). */
async function communityOf(core: Core, given: string | undefined): Promise<string> {
  if (given) return given;
  const ids = await knownCommunities(core.mongo.models);
  if (ids.length > 1) throw new CliError(EXIT.usage, `This database holds several communities (${ids.join(', ')}): pick one with --community <id>.`);
  return ids[0] ?? 'local';
}

/**
 * Break-glass: runs a command straight against MongoDB and Redis, from the server's own
 * configuration (its environment or .env; nothing configured: the embedded servers of
 * `npm start`). Revocations are handed to the same queue, so dependents are told and the
 * Slack notice posted by the workers. The audit actor is `cli:<os user>`.
 */
export async function openDirectBackend(community: string | undefined): Promise<{ run(cmd: CliCommand): Promise<unknown>; close(): Promise<void> }> {
  loadDotEnv();
  // The CLI never talks to Slack: the server's Slack settings are not required here.
  const env = loadConfig({ SLACK_SIGNING_SECRET: 'unused-by-the-cli', SLACK_BOT_TOKEN: 'xoxb-unused-by-the-cli', LOG_LEVEL: 'warn', ...process.env });
  const log = createLogger(env.LOG_LEVEL, process.stderr);
  const stops: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  let core: Core;
  try {
    const services = await provideServices({
      mongodbUri: env.MONGODB_URI,
      redisUrl: env.REDIS_URL,
      localRedisUrl: env.LOCAL_REDIS_URL,
      dataDir: resolve(env.DATA_DIR),
      env: process.env,
      say: (line) => log.info(line),
    });
    stops.push(() => services.stop());
    const mongo = await connectMongo(services.mongoUri, services.mongo ? { dbName: 'keywarden' } : {});
    stops.push(() => mongo.close());
    core = createCore({ ...env, REDIS_URL: services.redisUrl }, log, mongo);
    stops.push(() => core.close());
  } catch (e) {
    await close();
    throw new CliError(EXIT.unreachable, (e as Error).message);
  }
  const publisher = createRevocationPublisher(core);
  stops.push(() => publisher.close());
  core.keys.onRevoked(publisher.onRevoked, publisher.onRevokedMany);
  core.keys.onRolled(publisher.onRolled);
  core.dependents.onLateDelivery(publisher.onLateDelivery);

  const actor: Actor = { communityId: await communityOf(core, community), userId: `cli:${userInfo().username}`, grant: { kind: 'break-glass' } };
  const now = () => core.clock.now();

  const run = async (cmd: CliCommand): Promise<unknown> => {
    switch (cmd.kind) {
      case 'keys_list': {
        const page = await core.keys.list(actor, { status: cmd.status as 'active', search: cmd.search, ...(cmd.cursor ? { after: cmd.cursor } : {}) });
        if (page.cursorGone) throw new CliError(EXIT.usage, 'That cursor is not a position in this list; start again without it.');
        return { keys: page.items.map((k) => toKeyView(k, now())), nextCursor: page.next ?? null };
      }
      case 'keys_show':
        return toKeyView(await core.keys.show(actor, cmd.keyId), now());
      case 'keys_create': {
        const { key, token } = await core.keys.create(actor, {
          name: cmd.name,
          description: cmd.description,
          roles: cmd.roles,
          ...(cmd.expiresInDays !== undefined ? { expiresInDays: cmd.expiresInDays } : {}),
        });
        return { key: toKeyView(key, now()), secret: token };
      }
      case 'keys_revoke': {
        const { key, changed } = await core.keys.revoke(actor, cmd.keyId, cmd.reason ? { reason: cmd.reason } : {});
        return { key: toKeyView(key, now()), alreadyRevoked: !changed };
      }
      case 'keys_roll': {
        const { key, token } = await core.keys.roll(actor, cmd.keyId, cmd.overlap);
        return { key: toKeyView(key, now()), secret: token };
      }
      case 'dependents_list': {
        const key = await core.keys.show(actor, cmd.keyId);
        return { dependents: (await core.dependents.listForKey(actor, key.keyId)).map(toDependentView) };
      }
      case 'dependents_link': {
        const { dependent, secret } = await core.dependents.link(actor, {
          keyId: cmd.keyId,
          kind: cmd.dependentKind as 'playbook',
          name: cmd.name,
          url: cmd.webhookUrl,
        });
        return { dependent: toDependentView(dependent), secret };
      }
      case 'dependents_unlink': {
        const key = await core.keys.show(actor, cmd.keyId);
        if (!(await core.dependents.listForKey(actor, key.keyId)).some((d) => d.dependentId === cmd.dependentId))
          throw new CliError(EXIT.refused, `No dependent \`${cmd.dependentId}\` of \`${key.keyId}\`.`);
        return { dependent: toDependentView(await core.dependents.unlink(actor, cmd.dependentId)) };
      }
      case 'members_list':
        return {
          members: (await core.members.list(actor)).map((m) => ({
            slackUserId: m.slackUserId,
            role: m.role,
            addedBy: m.addedBy,
            addedAt: m.addedAt.toISOString(),
          })),
        };
      case 'members_add': {
        const { member, change } = await core.members.set(actor, cmd.userId, cmd.role);
        return { member: { slackUserId: member.slackUserId, role: member.role, addedBy: member.addedBy, addedAt: member.addedAt.toISOString() }, change };
      }
      case 'members_remove':
        await core.members.remove(actor, cmd.userId);
        return { removed: cmd.userId };
      case 'admin_tokens_list':
        return { adminTokens: (await core.adminTokens.list(actor)).map(tokenView) };
      case 'admin_tokens_create': {
        const { token, secret } = await core.adminTokens.create(actor, { name: cmd.name, scopes: cmd.scopes });
        return { adminToken: tokenView(token), secret };
      }
      case 'admin_tokens_revoke': {
        const { token, changed } = await core.adminTokens.revoke(actor, cmd.tokenId);
        return { adminToken: tokenView(token), alreadyRevoked: !changed };
      }
      case 'verify': {
        const v = await core.keys.verify(cmd.token);
        return v.valid
          ? { valid: true, keyId: v.key.keyId, name: v.key.name, roles: v.key.roles, communityId: v.key.communityId }
          : { valid: false, reason: v.reason };
      }
      case 'audit': {
        const c = cmd.cursor === undefined ? undefined : /^(\d{1,16})\.(.{1,200})$/.exec(cmd.cursor);
        if (cmd.cursor !== undefined && !c) throw new CliError(EXIT.usage, 'That cursor is not a position in the audit trail; start again without it.');
        const page = await core.audit.page(actor.communityId, {
          ...(cmd.keyId ? { target: cmd.keyId.toLowerCase() } : {}),
          limit: 50,
          ...(c ? { before: { at: new Date(Number(c[1])), id: c[2]! } } : {}),
        });
        return {
          events: page.events.map((e) => ({ ...e, at: e.at.toISOString(), onBehalfOf: e.onBehalfOf ?? null })),
          nextCursor: page.next ? `${page.next.at.getTime()}.${page.next.id}` : null,
        };
      }
      case 'help':
      case 'usage':
        throw new Error('not a backend command');
    }
  };

  return {
    close,
    run: (cmd) =>
      run(cmd).catch((e: unknown) => {
        if (isKeyError(e)) throw new CliError(EXIT.refused, e.message);
        throw e;
      }),
  };
}

const tokenView = (t: {
  tokenId: string;
  name: string;
  scopes: string[];
  hint: string;
  status: string;
  createdBy: string;
  createdAt: Date;
  revokedAt?: Date;
  revokedBy?: string;
}) => ({
  tokenId: t.tokenId,
  name: t.name,
  scopes: t.scopes,
  hint: t.hint,
  status: t.status,
  createdBy: t.createdBy,
  createdAt: t.createdAt.toISOString(),
  revokedAt: t.revokedAt?.toISOString() ?? null,
  revokedBy: t.revokedBy ?? null,
});
