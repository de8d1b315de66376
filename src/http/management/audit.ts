import type { Core } from '../../core.js';
import { normalizeKeyId } from '../../keys/key-service.js';
import { HttpError, sendJson } from '../errors.js';
import type { Handler } from '../server.js';
import type { Authorize } from './index.js';
import { readQuery } from './io.js';
import { auditQuery } from './schemas.js';

const CURSOR = /^(\d{1,16})\.([A-Za-z0-9:._-]{1,200})$/;

/** `GET /v1/audit?keyId=&cursor=&limit=`: the community's trail, newest first. */
export function auditRoutes(core: Core, authorize: Authorize): [string, Partial<Record<string, Handler>>][] {
  const list: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'audit:read');
    const q = readQuery(req, auditQuery);
    const c = q.cursor === undefined ? undefined : CURSOR.exec(q.cursor);
    if (q.cursor !== undefined && !c) throw new HttpError(400, 'invalid_request', 'That cursor is not a position in the audit trail; start again without it.');
    const page = await core.audit.page(actor.communityId, {
      ...(q.keyId ? { target: normalizeKeyId(q.keyId) } : {}),
      limit: q.limit,
      ...(c ? { before: { at: new Date(Number(c[1])), id: c[2]! } } : {}),
    });
    sendJson(
      res,
      200,
      {
        events: page.events.map((e) => ({ ...e, at: e.at.toISOString(), onBehalfOf: e.onBehalfOf ?? null })),
        nextCursor: page.next ? `${page.next.at.getTime()}.${page.next.id}` : null,
      },
      ctx.requestId,
    );
  };
  return [['/v1/audit', { GET: list }]];
}
