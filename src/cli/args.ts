import { parseArgs } from 'node:util';

/** What `keywarden …` asks for. */
export type CliCommand =
  | { kind: 'help' }
  | { kind: 'keys_list'; status: string; search: string; cursor?: string }
  | { kind: 'keys_show'; keyId: string }
  | { kind: 'keys_create'; name: string; description: string; roles: string[]; expiresInDays?: number | null; idempotencyKey?: string }
  | { kind: 'keys_revoke'; keyId: string; reason?: string }
  | { kind: 'keys_roll'; keyId: string; overlap: string }
  | { kind: 'dependents_list'; keyId: string }
  | { kind: 'dependents_link'; keyId: string; dependentKind: string; name: string; webhookUrl: string }
  | { kind: 'dependents_unlink'; keyId: string; dependentId: string }
  | { kind: 'members_list' }
  | { kind: 'members_add'; userId: string; role: 'admin' | 'viewer' }
  | { kind: 'members_remove'; userId: string }
  | { kind: 'admin_tokens_list' }
  | { kind: 'admin_tokens_create'; name: string; scopes: string[] }
  | { kind: 'admin_tokens_revoke'; tokenId: string }
  | { kind: 'verify'; token: string }
  | { kind: 'audit'; keyId?: string; cursor?: string }
  | { kind: 'usage'; problem: string };

export interface CliInvocation {
  command: CliCommand;
  json: boolean;
  breakGlass: boolean;
  community?: string;
}

export const USAGE = `Usage: keywarden [--json] [--break-glass [--community <id>]] <command>

  keys list [--status active|expired|revoked|all] [--search words] [--cursor c]
  keys show <keyId>
  keys create --name <name> --description <text> --role <id> [--role <id>…] [--expires-in-days n|never] [--idempotency-key k]
  keys revoke <keyId> [--reason <text>]
  keys roll <keyId> [--overlap none|1h|24h|7d]      (default 24h)
  dependents list <keyId>
  dependents link <keyId> --kind playbook|cti_connector --name <name> --url <webhook url>
  dependents unlink <keyId> <dependentId>
  members list | add <slackUserId> admin|viewer | remove <slackUserId>      (--break-glass only)
  admin-tokens list | create <name> <scope…> | revoke <id>                 (--break-glass only)
  verify <token>
  audit [--key <keyId>] [--cursor c]

Against a running Keywarden: KEYWARDEN_URL (its API_PORT base URL) and KEYWARDEN_ADMIN_TOKEN.
--break-glass: straight to MongoDB/Redis from the server's configuration (audit actor cli:<os user>).
Exit codes: 0 success, 1 refused or not found, 2 usage, 3 cannot reach the server; verify exits 0 only for a valid key.`;

const bad = (problem: string): CliCommand => ({ kind: 'usage', problem });

/** Parses argv (after `node keywarden`). Pure: never throws; a mistake is a `usage` command. */
export function parseCli(argv: string[]): CliInvocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        'break-glass': { type: 'boolean' },
        community: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        status: { type: 'string' },
        search: { type: 'string' },
        cursor: { type: 'string' },
        name: { type: 'string' },
        description: { type: 'string' },
        role: { type: 'string', multiple: true },
        'expires-in-days': { type: 'string' },
        'idempotency-key': { type: 'string' },
        reason: { type: 'string' },
        overlap: { type: 'string' },
        kind: { type: 'string' },
        url: { type: 'string' },
        key: { type: 'string' },
      },
    });
  } catch (e) {
    return { command: bad((e as Error).message), json: argv.includes('--json'), breakGlass: false };
  }
  const o = parsed.values;
  const base = { json: o.json === true, breakGlass: o['break-glass'] === true, ...(o.community ? { community: o.community } : {}) };
  if (o.community && !base.breakGlass)
    return { ...base, command: bad('--community applies only with --break-glass (an admin token belongs to one community).') };
  return { ...base, command: o.help ? { kind: 'help' } : commandOf(parsed.positionals, o) };
}

function commandOf(p: string[], o: Record<string, string | boolean | string[] | undefined>): CliCommand {
  const [group, action, ...rest] = p;
  const str = (k: string) => (typeof o[k] === 'string' ? o[k] : undefined);
  const one = (what: string, build: (arg: string) => CliCommand) => (rest.length === 1 ? build(rest[0]!) : bad(`Give exactly one ${what}.`));
  switch (`${group ?? ''} ${action ?? ''}`.trim()) {
    case '':
    case 'help':
      return { kind: 'help' };
    case 'keys list': {
      const status = str('status') ?? 'active';
      if (!['active', 'expired', 'revoked', 'all'].includes(status)) return bad('--status is active, expired, revoked or all.');
      return { kind: 'keys_list', status, search: str('search') ?? rest.join(' '), ...(str('cursor') ? { cursor: str('cursor')! } : {}) };
    }
    case 'keys show':
      return one('keyId', (keyId) => ({ kind: 'keys_show', keyId }));
    case 'keys create': {
      const name = str('name') ?? rest.join(' ');
      const description = str('description');
      const roles = (o.role as string[] | undefined) ?? [];
      if (!name || !description || !roles.length) return bad('keys create needs --name, --description and at least one --role.');
      const days = str('expires-in-days');
      let expiresInDays: number | null | undefined;
      if (days === 'never') expiresInDays = null;
      else if (days !== undefined) {
        expiresInDays = Number(days);
        if (!Number.isInteger(expiresInDays)) return bad('--expires-in-days is a whole number of days, or never.');
      }
      return {
        kind: 'keys_create',
        name,
        description,
        roles,
        ...(days !== undefined ? { expiresInDays } : {}),
        ...(str('idempotency-key') ? { idempotencyKey: str('idempotency-key')! } : {}),
      };
    }
    case 'keys revoke':
      return one('keyId', (keyId) => ({ kind: 'keys_revoke', keyId, ...(str('reason') ? { reason: str('reason')! } : {}) }));
    case 'keys roll': {
      const overlap = str('overlap') ?? '24h';
      if (!['none', '1h', '24h', '7d'].includes(overlap)) return bad('--overlap is none, 1h, 24h or 7d.');
      return one('keyId', (keyId) => ({ kind: 'keys_roll', keyId, overlap }));
    }
    case 'dependents list':
      return one('keyId', (keyId) => ({ kind: 'dependents_list', keyId }));
    case 'dependents link': {
      const kind = str('kind') === 'cti' ? 'cti_connector' : str('kind');
      if (rest.length !== 1 || !kind || !str('name') || !str('url'))
        return bad('dependents link needs <keyId>, --kind playbook|cti_connector, --name and --url.');
      return { kind: 'dependents_link', keyId: rest[0]!, dependentKind: kind, name: str('name')!, webhookUrl: str('url')! };
    }
    case 'dependents unlink':
      return rest.length === 2 ? { kind: 'dependents_unlink', keyId: rest[0]!, dependentId: rest[1]! } : bad('dependents unlink needs <keyId> <dependentId>.');
    case 'members list':
      return rest.length ? bad('members list takes no arguments.') : { kind: 'members_list' };
    case 'members add': {
      const [userId, role] = rest;
      if (!userId || (role !== 'admin' && role !== 'viewer') || rest.length !== 2) return bad('members add needs <slackUserId> admin|viewer.');
      return { kind: 'members_add', userId, role };
    }
    case 'members remove':
      return one('Slack user id', (userId) => ({ kind: 'members_remove', userId }));
    case 'admin-tokens list':
      return rest.length ? bad('admin-tokens list takes no arguments.') : { kind: 'admin_tokens_list' };
    case 'admin-tokens create': {
      const [name, ...scopes] = rest;
      return name && scopes.length ? { kind: 'admin_tokens_create', name, scopes } : bad('admin-tokens create needs <name> and one or more scopes.');
    }
    case 'admin-tokens revoke':
      return one('token id', (tokenId) => ({ kind: 'admin_tokens_revoke', tokenId }));
    case 'audit':
      return { kind: 'audit', ...(str('key') ? { keyId: str('key')! } : {}), ...(str('cursor') ? { cursor: str('cursor')! } : {}) };
    default:
      if (group === 'verify') return action && !rest.length ? { kind: 'verify', token: action } : bad('verify needs exactly one <token>.');
      return bad(`Unknown command: ${p.join(' ').slice(0, 60)}`);
  }
}
