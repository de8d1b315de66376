import { createKeyModal } from '../blocks/create-modal.js';
import type { CommandContext } from './context.js';

/** `/apikey create [name]`: opens the create modal, name prefilled (admins). */
export async function createCommand(ctx: CommandContext, name: string): Promise<void> {
  const { core } = ctx.deps;
  await core.members.requireAdmin(ctx.actor, 'create API keys');
  await ctx.client.views.open({ trigger_id: ctx.payload.trigger_id, view: createKeyModal({ catalog: core.roles, name }) });
}
