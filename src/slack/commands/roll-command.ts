import { rollModal } from '../blocks/roll-modal.js';
import type { CommandContext } from './context.js';

/** `/apikey roll <keyId>` (admins): the roll modal, "Keep the old secret working for". */
export async function rollCommand(ctx: CommandContext, keyId: string): Promise<void> {
  const { core } = ctx.deps;
  await core.members.requireAdmin(ctx.actor, 'roll API keys');
  const key = await core.keys.show(ctx.actor, keyId);
  await ctx.client.views.open({ trigger_id: ctx.payload.trigger_id, view: rollModal(key, { k: key.keyId }) });
}
