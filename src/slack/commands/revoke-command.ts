import { normalizeReason } from '../../keys/revoke-reason.js';
import { revokeConfirmReply } from '../blocks/messages.js';
import type { CommandContext } from './context.js';

/** `/apikey revoke <keyId> [reason…]` (one key; several: revoke-many-command.ts): an ephemeral confirmation; the button does the revoking. */
export async function revokeCommand(ctx: CommandContext, keyId: string, reason?: string): Promise<void> {
  const { core } = ctx.deps;
  await core.members.requireAdmin(ctx.actor, 'revoke API keys');
  const key = await core.keys.show(ctx.actor, keyId);
  await ctx.reply(revokeConfirmReply(key, core.clock.now(), normalizeReason(reason)));
}
