import { noticeReply } from '../blocks/messages.js';
import type { CommandContext } from './context.js';
import type { ApikeyCommand } from './grammar.js';

/** `/apikey link …`: not available until the revocation notifications are wired in. */
export async function linkCommand(ctx: CommandContext, _cmd: Extract<ApikeyCommand, { kind: 'link' }>): Promise<void> {
  await ctx.reply(noticeReply('Linking dependents is not available in this deployment yet.'));
}
