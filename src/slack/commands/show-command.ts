import { showReply } from '../blocks/messages.js';
import type { CommandContext } from './context.js';

/** `/apikey show <keyId>`: details and dependents, never the secret. */
export async function showCommand(ctx: CommandContext, keyId: string): Promise<void> {
  const { core } = ctx.deps;
  const key = await core.keys.show(ctx.actor, keyId);
  const role = await core.members.roleOf(ctx.actor);
  const dependents = await ctx.deps.dependents.listForKey(ctx.actor, key.keyId);
  await ctx.reply(showReply(key, core.roles, role === 'admin', dependents, core.clock.now()));
}
