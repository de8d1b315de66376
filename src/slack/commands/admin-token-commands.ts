import { adminTokenCreatedText, adminTokenListReply, adminTokenRevokedText, adminTokenSecretBlocks, adminTokenSecretText } from '../blocks/admin-tokens.js';
import { noticeReply } from '../blocks/messages.js';
import type { CommandContext } from './context.js';
import type { ApikeyCommand } from './grammar.js';

/**
 * `/apikey admin-token create <name> <scope…>` (admins): the token goes once to the admin's
 * DM as an ephemeral, like a key's secret; when the DM fails, in the ephemeral reply instead.
 */
export async function adminTokenCreateCommand(ctx: CommandContext, cmd: Extract<ApikeyCommand, { kind: 'admin_token_create' }>): Promise<void> {
  const { actor, client, deps } = ctx;
  const { token, secret } = await deps.core.adminTokens.create(actor, { name: cmd.name, scopes: cmd.scopes });
  const blocks = adminTokenSecretBlocks(token, secret);
  try {
    const dm = await client.conversations.open({ users: actor.userId });
    if (!dm.channel?.id) throw new Error('conversations.open returned no channel');
    await client.chat.postEphemeral({ channel: dm.channel.id, user: actor.userId, text: adminTokenSecretText(token), blocks });
  } catch (e) {
    deps.log.warn({ tokenId: token.tokenId, err: (e as Error).message }, 'admin token DM failed; answering ephemerally');
    await ctx.reply({ text: adminTokenSecretText(token), blocks });
    return;
  }
  await ctx.reply(noticeReply(adminTokenCreatedText(token)));
}

/** `/apikey admin-token list` (admins). */
export async function adminTokenListCommand(ctx: CommandContext): Promise<void> {
  await ctx.reply(adminTokenListReply(await ctx.deps.core.adminTokens.list(ctx.actor)));
}

/** `/apikey admin-token revoke <id>` (admins). */
export async function adminTokenRevokeCommand(ctx: CommandContext, tokenId: string): Promise<void> {
  const { token, changed } = await ctx.deps.core.adminTokens.revoke(ctx.actor, tokenId);
  await ctx.reply(noticeReply(adminTokenRevokedText(token, changed)));
}
