import type { CliCommand } from './args.js';

type Row = Record<string, unknown>;
const cell = (v: unknown): string => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v)).replace(/\s+/g, ' ');

/** A plain text table: a header and aligned columns. */
export function table(rows: Row[], columns: string[]): string {
  if (!rows.length) return '(none)\n';
  const cells = [columns, ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const facts = (o: Row) =>
  table(
    Object.entries(o).map(([field, value]) => ({ field, value })),
    ['field', 'value'],
  );
const KEY_COLUMNS = ['keyId', 'name', 'status', 'roles', 'hint', 'expiresAt', 'lastUsedAt'];

/** The human form of a command's result (stdout). The secret, when there is one, is printed separately. */
export function render(cmd: CliCommand, result: any): string {
  switch (cmd.kind) {
    case 'keys_list':
      return table(result.keys, KEY_COLUMNS) + (result.nextCursor ? `more: --cursor ${result.nextCursor}\n` : '');
    case 'keys_show':
      return facts(result);
    case 'keys_create':
    case 'keys_roll':
      return facts(result.key);
    case 'keys_revoke':
      return `${result.alreadyRevoked ? 'Already revoked' : 'Revoked'}: ${result.key.keyId} (${result.key.name})\n`;
    case 'dependents_list':
      return table(result.dependents, ['dependentId', 'kind', 'name', 'status', 'webhookUrl']);
    case 'dependents_link':
    case 'dependents_unlink':
      return facts(result.dependent);
    case 'members_list':
      return table(result.members, ['slackUserId', 'role', 'addedBy', 'addedAt']);
    case 'members_add':
      return `${result.member.slackUserId}: ${result.member.role} (${result.change})\n`;
    case 'members_remove':
      return `Removed ${result.removed}\n`;
    case 'admin_tokens_list':
      return table(result.adminTokens, ['tokenId', 'name', 'status', 'scopes', 'hint', 'createdBy', 'createdAt']);
    case 'admin_tokens_create':
      return facts(result.adminToken);
    case 'admin_tokens_revoke':
      return `${result.alreadyRevoked ? 'Already revoked' : 'Revoked'}: ${result.adminToken.tokenId} (${result.adminToken.name})\n`;
    case 'verify':
      return result.valid ? `valid: ${result.keyId} (${result.name}) roles ${result.roles.join(',')}\n` : `not valid: ${result.reason}\n`;
    case 'audit':
      return table(result.events, ['at', 'actor', 'onBehalfOf', 'action', 'target']) + (result.nextCursor ? `more: --cursor ${result.nextCursor}\n` : '');
    default:
      return '';
  }
}
