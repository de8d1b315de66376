import { auditReply } from '../blocks/audit.js';
import { loadAuditPage } from '../audit-page.js';
import type { CommandContext } from './context.js';

/** `/apikey audit [<keyId>|@user]` (admins): newest first, 10 per page. */
export async function auditCommand(ctx: CommandContext, target: { keyId?: string; userId?: string }): Promise<void> {
  const { page, state, keyName } = await loadAuditPage(ctx.deps, ctx.actor, {
    ...(target.keyId ? { k: target.keyId } : {}),
    ...(target.userId ? { u: target.userId } : {}),
  });
  await ctx.reply(auditReply(page, state, keyName));
}
