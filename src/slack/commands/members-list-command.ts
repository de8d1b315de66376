import { membersReply } from '../blocks/messages.js';
import type { CommandContext } from './context.js';

/** `/apikey members [list]` (viewers and admins). */
export async function membersListCommand(ctx: CommandContext): Promise<void> {
  await ctx.reply(membersReply(await ctx.deps.core.members.list(ctx.actor)));
}
