import { dependentLinkedText, dependentSecretBlocks, dependentSecretText } from '../blocks/dependent-linked.js';
import { noticeReply } from '../blocks/messages.js';
import type { CommandContext } from './context.js';
import type { ApikeyCommand } from './grammar.js';

/**
 * `/apikey link <keyId> playbook|cti <name> <url>` (admins): registers a dependent. Its
 * signing secret goes once to the admin's DM as an ephemeral, like a key's; when the DM
 * fails, in the ephemeral reply to the command instead.
 */
export async function linkCommand(ctx: CommandContext, cmd: Extract<ApikeyCommand, { kind: 'link' }>): Promise<void> {
  const { actor, client, deps } = ctx;
  const { dependent, secret, keyRevoked } = await deps.dependents.link(actor, { keyId: cmd.keyId, kind: cmd.dependentKind, name: cmd.name, url: cmd.url });
  const blocks = dependentSecretBlocks(dependent, secret);
  try {
    const dm = await client.conversations.open({ users: actor.userId });
    if (!dm.channel?.id) throw new Error('conversations.open returned no channel');
    await client.chat.postEphemeral({ channel: dm.channel.id, user: actor.userId, text: dependentSecretText(dependent), blocks });
  } catch (e) {
    deps.log.warn({ dependentId: dependent.dependentId, err: (e as Error).message }, 'secret DM failed; answering ephemerally');
    await ctx.reply({ text: dependentSecretText(dependent), blocks });
    return;
  }
  const late = keyRevoked ? ' The key was revoked while it was being linked: the dependent is being told now.' : '';
  await ctx.reply(noticeReply(`${dependentLinkedText(dependent)}${late}`));
}
