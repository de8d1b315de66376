import { noticeReply } from '../blocks/messages.js';
import { mention } from '../blocks/text.js';
import type { CommandContext } from './context.js';

/** `/apikey members remove @user` (admins; never the last admin). */
export async function membersRemoveCommand(ctx: CommandContext, userId: string): Promise<void> {
  await ctx.deps.core.members.remove(ctx.actor, userId);
  await ctx.reply(noticeReply(`:white_check_mark: Removed ${mention(userId)} from Keywarden.`));
}
