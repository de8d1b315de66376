import type { Core } from '../../core.js';
import { KeyError } from '../../errors.js';
import { sendJson } from '../errors.js';
import type { Handler } from '../server.js';
import type { Authorize } from './index.js';
import { readJson, toDependentView } from './io.js';
import { linkDependentRequest } from './schemas.js';

/** `/v1/keys/{keyId}/dependents…`: link, list and unlink, as in Slack. */
export function dependentRoutes(core: Core, authorize: Authorize): [string, Partial<Record<string, Handler>>][] {
  const list: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'keys:read');
    const key = await core.keys.show(actor, ctx.params.keyId!);
    const dependents = await core.dependents.listForKey(actor, key.keyId);
    sendJson(res, 200, { dependents: dependents.map(toDependentView) }, ctx.requestId);
  };

  const link: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'dependents:write');
    const { data } = await readJson(req, linkDependentRequest);
    const { dependent, secret } = await core.dependents.link(actor, { keyId: ctx.params.keyId!, kind: data.kind, name: data.name, url: data.webhookUrl });
    sendJson(res, 201, { dependent: toDependentView(dependent), secret }, ctx.requestId);
  };

  const unlink: Handler = async (req, res, ctx) => {
    const actor = await authorize(req, 'dependents:write');
    const key = await core.keys.show(actor, ctx.params.keyId!);
    const own = (await core.dependents.listForKey(actor, key.keyId)).some((d) => d.dependentId === ctx.params.dependentId);
    if (!own) throw new KeyError('not_found', `No dependent \`${ctx.params.dependentId}\` of \`${key.keyId}\`.`);
    sendJson(res, 200, { dependent: toDependentView(await core.dependents.unlink(actor, ctx.params.dependentId!)) }, ctx.requestId);
  };

  return [
    ['/v1/keys/{keyId}/dependents', { GET: list, POST: link }],
    ['/v1/keys/{keyId}/dependents/{dependentId}', { DELETE: unlink }],
  ];
}
