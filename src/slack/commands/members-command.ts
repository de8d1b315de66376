import type { MemberRole } from '../../members/member-service.js';
import { membersReply, noticeReply } from '../blocks/messages.js';
import { mention } from '../blocks/text.js';
import type { CommandContext } from './context.js';

/** `/apikey members [list]`. */
export async function membersListCommand(ctx: CommandContext): Promise<void> {
  await ctx.reply(membersReply(await ctx.deps.core.members.list(ctx.actor)));
}

/** `/apikey members add @user admin|viewer` (admins). */
export async function membersAddCommand(ctx: CommandContext, userId: string, role: MemberRole): Promise<void> {
  const { change } = await ctx.deps.core.members.set(ctx.actor, userId, role);
  const text = change === 'added'
    ? `:white_check_mark: Added ${mention(userId)} as ${role}.`
    : change === 'role_changed' ? `:white_check_mark: ${mention(userId)} is now ${role}.` : `${mention(userId)} already was ${role}; nothing changed.`;
  await ctx.reply(noticeReply(text));
}

/** `/apikey members remove @user` (admins; never the last admin). */
export async function membersRemoveCommand(ctx: CommandContext, userId: string): Promise<void> {
  await ctx.deps.core.members.remove(ctx.actor, userId);
  await ctx.reply(noticeReply(`:white_check_mark: Removed ${mention(userId)} from Keywarden.`));
}
