import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { helpReply, noticeReply, usageReply } from '../blocks/messages.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure } from '../explain.js';
import { commandActor, commandPayload } from '../payloads.js';
import { auditCommand } from './audit-command.js';
import { requestCommand } from './request-command.js';
import { adminTokenCreateCommand, adminTokenListCommand, adminTokenRevokeCommand } from './admin-token-commands.js';
import type { CommandContext } from './context.js';
import { createCommand } from './create-command.js';
import { parseApikeyCommand } from './grammar.js';
import { linkCommand } from './link-command.js';
import { listCommand } from './list-command.js';
import { membersAddCommand } from './members-add-command.js';
import { membersListCommand } from './members-list-command.js';
import { membersRemoveCommand } from './members-remove-command.js';
import { revokeCommand } from './revoke-command.js';
import { revokeManyCommand } from './revoke-many-command.js';
import { rollCommand } from './roll-command.js';
import { showCommand } from './show-command.js';
import { postToResponseUrl } from '../response-url.js';

/** `/apikey …`: ack at once (empty, nothing echoed), then answer ephemerally. */
export function apikeyCommand(deps: SlackDeps) {
  return async ({ ack, body, respond, client }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const payload = commandPayload.parse(body);
    const ctx: CommandContext = {
      deps,
      actor: commandActor(payload),
      payload,
      client,
      // Our keep-alive poster when the payload has its response_url (Slack always sends one);
      // Bolt's respond() otherwise. Why not respond() always: src/slack/response-url.ts.
      reply: payload.response_url
        ? (r) => postToResponseUrl(payload.response_url!, { response_type: 'ephemeral', ...r })
        : async (r) => {
            await respond({ response_type: 'ephemeral', ...r });
          },
    };
    const cmd = parseApikeyCommand(payload.text);
    try {
      switch (cmd.kind) {
        case 'help':
          return await ctx.reply(helpReply());
        case 'usage':
          return await ctx.reply(usageReply(cmd.topic, cmd.problem));
        case 'list':
          return await listCommand(ctx, { s: cmd.status, q: cmd.search });
        case 'create':
          return await createCommand(ctx, cmd.name);
        case 'request':
          return await requestCommand(ctx, cmd.name);
        case 'show':
          return await showCommand(ctx, cmd.keyId);
        case 'revoke':
          return await revokeCommand(ctx, cmd.keyId, cmd.reason);
        case 'revoke_many':
          return await revokeManyCommand(ctx, cmd.keyIds, cmd.reason);
        case 'roll':
          return await rollCommand(ctx, cmd.keyId);
        case 'members_list':
          return await membersListCommand(ctx);
        case 'members_add':
          return await membersAddCommand(ctx, cmd.userId, cmd.role);
        case 'members_remove':
          return await membersRemoveCommand(ctx, cmd.userId);
        case 'link':
          return await linkCommand(ctx, cmd);
        case 'admin_token_create':
          return await adminTokenCreateCommand(ctx, cmd);
        case 'admin_token_list':
          return await adminTokenListCommand(ctx);
        case 'admin_token_revoke':
          return await adminTokenRevokeCommand(ctx, cmd.tokenId);
        case 'audit':
          return await auditCommand(ctx, cmd);
      }
    } catch (e) {
      await ctx.reply(noticeReply(expectedFailure(e)));
    }
  };
}
