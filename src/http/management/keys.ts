import type { Core } from '../../core.js';
import type { IdempotencyRepository } from '../../store/idempotency-repository.js';
import { HttpError, sendJson } from '../errors.js';
import type { Handler } from '../server.js';
import type { Authorize } from './index.js';
import { decideCreate } from './idempotency.js';
import { readJson, readQuery, toKeyView } from './io.js';
import { createKeyRequest, listKeysQuery, revokeKeyRequest, rollKeyRequest } from './schemas.js';

/** `/v1/keys…`: the same KeyService calls as Slack, as the token's actor. */
export function keyRoutes(core: Core, authorize: Authorize, idempotency: IdempotencyRepository): [string, Partial<Record<string, Handler>>][] {
  const now = () => core.clock.now();

  const list: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'keys:read');
    const q = readQuery(req, listKeysQuery);
    const page = await core.keys.list(actor, { status: q.status, search: q.search, ...(q.cursor ? { after: q.cursor } : {}) });
    if (page.cursorGone) throw new HttpError(400, 'invalid_request', 'That cursor is not a position in this list; start again without it.');
    sendJson(res, 200, { keys: page.items.map((k) => toKeyView(k, now())), nextCursor: page.next ?? null }, ctx.requestId);
  };

  const show: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'keys:read');
    sendJson(res, 200, toKeyView(await core.keys.show(actor, ctx.params.keyId!), now()), ctx.requestId);
  };

  const create: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'keys:write');
    const { data, raw } = await readJson(req, createKeyRequest);
    core.keys.validate(data); // a bad body is answered 400 before its Idempotency-Key is used up
    const idempotencyKey = req.headers['idempotency-key'];
    if (typeof idempotencyKey !== 'string' || actor.grant?.kind !== 'token') {
      const { key, token } = await core.keys.create(actor, data);
      return sendJson(res, 201, { key: toKeyView(key, now()), secret: token }, ctx.requestId);
    }
    const decided = await decideCreate(core, idempotency, actor.communityId, actor.grant.tokenId, idempotencyKey, raw);
    if (!decided.first) return sendJson(res, 200, { key: toKeyView(decided.key, now()), secret: null }, ctx.requestId);
    try {
      const { key, token } = await core.keys.create(actor, data, { keyId: decided.keyId });
      sendJson(res, 201, { key: toKeyView(key, now()), secret: token }, ctx.requestId);
    } catch (e) {
      await decided.abandon();
      throw e;
    }
  };

  const revoke: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'keys:revoke');
    const { data } = await readJson(req, revokeKeyRequest);
    const { key, changed } = await core.keys.revoke(actor, ctx.params.keyId!, data.reason ? { reason: data.reason } : {});
    sendJson(res, 200, { key: toKeyView(key, now()), alreadyRevoked: !changed }, ctx.requestId);
  };

  const roll: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'keys:write');
    const { data } = await readJson(req, rollKeyRequest);
    const { key, token } = await core.keys.roll(actor, ctx.params.keyId!, data.overlap);
    sendJson(res, 200, { key: toKeyView(key, now()), secret: token }, ctx.requestId);
  };

  return [
    ['/v1/keys', { GET: list, POST: create }],
    ['/v1/keys/{keyId}', { GET: show }],
    ['/v1/keys/{keyId}/revoke', { POST: revoke }],
    ['/v1/keys/{keyId}/roll', { POST: roll }],
  ];
}
