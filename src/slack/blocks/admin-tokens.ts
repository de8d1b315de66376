import type { KnownBlock } from '@slack/types';
import type { AdminTokenRecord } from '../../admin-tokens/admin-token-service.js';
import type { Reply } from './messages.js';
import { code, limits, md, mention, slackDate } from './text.js';

type TokenView = Pick<AdminTokenRecord, 'tokenId' | 'name' | 'scopes' | 'hint' | 'status' | 'createdBy' | 'createdAt' | 'revokedAt' | 'revokedBy'>;

const scopesText = (t: TokenView) => t.scopes.map(code).join(' ');

/** The admin token, once, for the admin who created it (by DM, like a key's secret). */
export function adminTokenSecretBlocks(t: TokenView, secret: string): KnownBlock[] {
  return [
    { type: 'section', text: md(`:key: Admin token ${code(t.name)} (${code(t.tokenId)}) for the management API, with ${scopesText(t)}:`) },
    { type: 'section', text: md(`\`\`\`${secret}\`\`\``) },
    {
      type: 'context',
      elements: [
        md(':lock: This is the only time it is shown. Send it as `Authorization: Bearer <token>`; keep it in a vault. `/apikey admin-token revoke` ends it.'),
      ],
    },
  ];
}

/** Fallback text of the message carrying the token: no secret. */
export const adminTokenSecretText = (t: TokenView) => `Admin token ${t.name} (${t.tokenId})`;

/** The answer to `/apikey admin-token create` when the token went to the DM. */
export const adminTokenCreatedText = (t: TokenView) =>
  `:white_check_mark: Created admin token ${code(t.name)} (${code(t.tokenId)}) with ${scopesText(t)}. The token is in your direct messages with Keywarden (shown once).`;

export const adminTokenRevokedText = (t: TokenView, changed: boolean) =>
  changed
    ? `:no_entry: Revoked admin token ${code(t.name)} (${code(t.tokenId)}). The management API refuses it from now on.`
    : `Admin token ${code(t.name)} (${code(t.tokenId)}) was already revoked.`;

/** `/apikey admin-token list`: every token of the workspace, newest first, never a secret. */
export function adminTokenListReply(tokens: readonly TokenView[]): Reply {
  if (!tokens.length)
    return {
      text: 'No admin tokens yet.',
      blocks: [{ type: 'section', text: md('No admin tokens yet. `/apikey admin-token create <name> <scope…>` makes one.') }],
    };
  const rows = tokens.slice(0, limits.messageBlocks - 1).map((t): KnownBlock => ({
    type: 'section',
    text: md(
      `${t.status === 'revoked' ? ':no_entry:' : ':large_green_circle:'} ${code(t.name)} ${code(t.tokenId)} …${code(t.hint)} ${scopesText(t)}\n` +
        `created by ${mention(t.createdBy)} ${slackDate(t.createdAt)}${t.revokedAt ? ` · revoked ${slackDate(t.revokedAt)}${t.revokedBy ? ` by ${mention(t.revokedBy)}` : ''}` : ''}`,
    ),
  }));
  return {
    text: `${tokens.length} admin token${tokens.length === 1 ? '' : 's'}`,
    blocks: [{ type: 'section', text: md(`*Admin tokens* (${tokens.length})`) }, ...rows],
  };
}
