import type { MemberRole } from '../../members/member-service.js';
import { noticeReply } from '../blocks/messages.js';
import { mention } from '../blocks/text.js';
import type { CommandContext } from './context.js';

/** `/apikey members add @user admin|viewer` (admins): adds a member or changes their role. */
export async function membersAddCommand(ctx: CommandContext, userId: string, role: MemberRole): Promise<void> {
  const { change } = await ctx.deps.core.members.set(ctx.actor, userId, role);
  const text =
    change === 'added'
      ? `:white_check_mark: Added ${mention(userId)} as ${role}.`
      : change === 'role_changed'
        ? `:white_check_mark: ${mention(userId)} is now ${role}.`
        : `${mention(userId)} already was ${role}; nothing changed.`;
  await ctx.reply(noticeReply(text));
}
