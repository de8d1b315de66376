import { requestModal } from '../blocks/requests.js';
import type { CommandContext } from './context.js';

/** `/apikey request [name]`: the request form (viewers; everyone with REQUESTS_OPEN_TO_ALL). */
export async function requestCommand(ctx: CommandContext, name: string): Promise<void> {
  const { core } = ctx.deps;
  await core.requests.requireRequester(ctx.actor);
  await ctx.client.views.open({ trigger_id: ctx.payload.trigger_id, view: requestModal(core.roles, name) });
}
