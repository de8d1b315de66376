import { normalizeReason } from '../../keys/revoke-reason.js';
import { revokeManyConfirmReply } from '../blocks/revoke-many.js';
import type { CommandContext } from './context.js';

/**
 * `/apikey revoke <keyId> <keyId>… [reason…]`: one ephemeral confirmation listing every key
 * (read in one query); the button revokes them, each as if alone.
 */
export async function revokeManyCommand(ctx: CommandContext, keyIds: string[], reason?: string): Promise<void> {
  const { core } = ctx.deps;
  await core.members.requireAdmin(ctx.actor, 'revoke API keys');
  const found = await core.keys.showMany(ctx.actor, keyIds);
  await ctx.reply(revokeManyConfirmReply({ keyIds, found, now: core.clock.now(), reason: normalizeReason(reason) }));
}
