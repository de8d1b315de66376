import { adminScopes, type AdminScope } from '../../admin-tokens/admin-token-service.js';
import { listStatuses, type ListStatus } from '../../keys/key-service.js';
import type { DependentKind } from '../../dependents/dependent-kind.js';
import type { MemberRole } from '../../members/member-service.js';

/** The usage line of each subcommand, shown for `help` and after a mistake. */
export const usage = {
  list: '`/apikey list [active|expired|revoked|all] [@creator] [search words…]` — list keys (default: active), matching name, description or keyId',
  create: '`/apikey create [name]` — open the form to create a key (admins)',
  request: '`/apikey request [name]` — ask the admins for a key; if approved, its secret comes to you once (viewers)',
  show: '`/apikey show <keyId>` — details of one key, never its secret',
  revoke:
    '`/apikey revoke <keyId> [<keyId>…] [reason…]` — revoke a key, or up to 50 at once, after a confirmation; reason: compromised, no longer used, replaced, or your own words (admins)',
  roll: '`/apikey roll <keyId>` — a new secret for a key, same keyId; the old one works for an overlap you choose (admins)',
  members: '`/apikey members [list | add @user admin|viewer | remove @user]` — who may use Keywarden (changes: admins)',
  link: '`/apikey link <keyId> playbook|cti <name> <https://webhook-url>` — tell a playbook or CTI connector when the key is revoked (admins)',
  'admin-token':
    '`/apikey admin-token create <name> <scope…> | list | revoke <id>` — tokens for the management API; scopes: keys:read, keys:write, keys:revoke, dependents:write, audit:read (admins)',
  audit: '`/apikey audit [<keyId> | @user]` — activity, newest first: of one key, of one user, or of the whole workspace (admins)',
  help: '`/apikey help` — this help',
} as const;
export type UsageTopic = keyof typeof usage;

/** What `/apikey <text>` asks for. */
export type ApikeyCommand =
  | { kind: 'help' }
  | { kind: 'list'; status: ListStatus; search: string }
  | { kind: 'create'; name: string }
  | { kind: 'request'; name: string }
  | { kind: 'show'; keyId: string }
  /** `reason`: the words after the keyId as typed (the domain normalises them); absent when none. */
  | { kind: 'revoke'; keyId: string; reason?: string }
  /** Several distinct keyIds (2 to {@link REVOKE_MAX}), in the order typed, normalised; `reason` as for one. */
  | { kind: 'revoke_many'; keyIds: string[]; reason?: string }
  | { kind: 'roll'; keyId: string }
  | { kind: 'members_list' }
  | { kind: 'members_add'; userId: string; role: MemberRole }
  | { kind: 'members_remove'; userId: string }
  | { kind: 'link'; keyId: string; dependentKind: DependentKind; name: string; url: string }
  | { kind: 'admin_token_create'; name: string; scopes: AdminScope[] }
  | { kind: 'admin_token_list' }
  | { kind: 'admin_token_revoke'; tokenId: string }
  | { kind: 'audit'; keyId?: string; userId?: string }
  /** A mistake: what went wrong and the usage line that fits. */
  | { kind: 'usage'; topic: UsageTopic | 'all'; problem: string };

/** Undoes Slack's escaping of `&`, `<` and `>` in command text. */
export const unescapeSlack = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** `<@U123|name>`, `<@U123>` (escaped mentions) or a bare user id → the id. */
export function parseMention(token: string | undefined): string | undefined {
  if (!token) return undefined;
  const m = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/.exec(token) ?? /^([UW][A-Z0-9]{2,})$/.exec(token);
  return m?.[1];
}

/** `<https://…>` or `<https://…|label>` (escaped links) or a bare URL → the URL. */
export function parseLink(token: string | undefined): string | undefined {
  if (!token) return undefined;
  const m = /^<(https?:\/\/[^|>]+)(?:\|[^>]*)?>$/.exec(token);
  const raw = m?.[1] ?? token;
  if (!/^https?:\/\/\S+$/.test(raw)) return undefined;
  try {
    return new URL(unescapeSlack(raw)).toString();
  } catch {
    return undefined;
  }
}

const keyIdLike = (s: string | undefined): s is string => Boolean(s && /^`?[A-Za-z0-9_-]{1,64}`?$/.test(s));

const bad = (topic: UsageTopic | 'all', problem: string): ApikeyCommand => ({ kind: 'usage', topic, problem });

/** Parses the text after `/apikey`. Pure: never throws, a mistake is a `usage` command. */
export function parseApikeyCommand(text: string): ApikeyCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [sub = 'help', ...args] = words;
  const rest = (n: number) => unescapeSlack(words.slice(n).join(' '));
  switch (sub.toLowerCase()) {
    case 'help':
      return { kind: 'help' };
    case 'list':
    case 'ls': {
      const first = args[0]?.toLowerCase();
      const status = (listStatuses as readonly string[]).includes(first ?? '') ? (first as ListStatus) : undefined;
      return { kind: 'list', status: status ?? 'active', search: rest(status ? 2 : 1) };
    }
    case 'create':
    case 'new':
      return { kind: 'create', name: rest(1) };
    case 'request':
      return { kind: 'request', name: rest(1) };
    case 'revoke':
      return parseRevoke(args, rest);
    case 'show':
    case 'roll': {
      const topic = sub.toLowerCase() as 'show' | 'roll';
      if (args.length !== 1 || !keyIdLike(args[0])) {
        return bad(topic, args.length === 0 ? 'Which key? Give its keyId (it looks like `ak_…`; `/apikey list` shows them).' : 'Give exactly one keyId.');
      }
      return { kind: topic, keyId: args[0] };
    }
    case 'members':
    case 'member':
      return parseMembers(args);
    case 'link':
      return parseLinkCommand(args);
    case 'admin-token':
    case 'admin-tokens':
      return parseAdminToken(args);
    case 'audit':
    case 'activity':
      return parseAudit(args);
    default:
      return bad('all', `I don't know \`${truncateWord(sub)}\`.`);
  }
}

/** A public keyId as shown (`ak_` and 12 base36), backticks forgiven: tells keyIds from reason words. */
const keyIdShaped = (s: string | undefined) => Boolean(s && /^`?ak_[0-9a-z]{12}`?$/i.test(s));

/** The most keys one `/apikey revoke` takes (one confirmation message lists them all). */
export const REVOKE_MAX = 50;

const bareKeyId = (s: string) => s.replace(/^`|`$/g, '').toLowerCase();

/**
 * `revoke <keyId> [<keyId>…] [reason…]`: the first word is a key; the keyId-shaped words
 * (`ak_…`) right after it are more keys; everything from the first other word on is the
 * reason, as typed (so a reason may name a key later on: "replaced by ak_…"). One distinct
 * key is the single form, as before; repeats count once; more than {@link REVOKE_MAX}
 * distinct keys are refused whole.
 */
function parseRevoke(args: string[], rest: (n: number) => string): ApikeyCommand {
  if (!keyIdLike(args[0]))
    return bad(
      'revoke',
      args.length === 0 ? 'Which key? Give its keyId (it looks like `ak_…`; `/apikey list` shows them).' : 'Give the keyId first, then the reason if you like.',
    );
  let n = 1;
  while (keyIdShaped(args[n])) n++;
  const reason = rest(n + 1).trim(); // after the subcommand and the keyIds
  const why = reason ? { reason } : {};
  if (n === 1) return { kind: 'revoke', keyId: args[0], ...why };
  const keyIds = [...new Set(args.slice(0, n).map(bareKeyId))];
  if (keyIds.length > REVOKE_MAX) {
    return bad('revoke', `At most ${REVOKE_MAX} keys at once: you gave ${keyIds.length}. Nothing was revoked; split them over several commands.`);
  }
  return keyIds.length === 1 ? { kind: 'revoke', keyId: keyIds[0]!, ...why } : { kind: 'revoke_many', keyIds, ...why };
}

const truncateWord = (s: string) => (s.length > 30 ? `${s.slice(0, 30)}…` : s).replace(/`/g, "'");

function parseMembers(args: string[]): ApikeyCommand {
  const [action = 'list', target, role, ...extra] = args;
  switch (action.toLowerCase()) {
    case 'list':
      return args.length <= 1 ? { kind: 'members_list' } : bad('members', '`members list` takes no arguments.');
    case 'add': {
      const userId = parseMention(target);
      if (!userId) return bad('members', 'Mention the user to add, e.g. `/apikey members add @alex viewer`.');
      const r = role?.toLowerCase();
      if ((r !== 'admin' && r !== 'viewer') || extra.length) return bad('members', 'The role is `admin` or `viewer`.');
      return { kind: 'members_add', userId, role: r };
    }
    case 'remove':
    case 'rm': {
      const userId = parseMention(target);
      if (!userId || role !== undefined) return bad('members', 'Mention the one user to remove, e.g. `/apikey members remove @alex`.');
      return { kind: 'members_remove', userId };
    }
    default:
      return bad('members', `\`members ${truncateWord(action)}\` is not a members command.`);
  }
}

function parseLinkCommand(args: string[]): ApikeyCommand {
  const [keyId, kindWord, ...tail] = args;
  if (!keyIdLike(keyId)) return bad('link', 'Which key? Give its keyId first.');
  const k = kindWord?.toLowerCase();
  const dependentKind: DependentKind | undefined = k === 'playbook' ? 'playbook' : k === 'cti' || k === 'cti_connector' ? 'cti_connector' : undefined;
  if (!dependentKind) return bad('link', 'The kind is `playbook` or `cti`.');
  const url = parseLink(tail[tail.length - 1]);
  const name = unescapeSlack(tail.slice(0, -1).join(' ')).trim();
  if (!url) return bad('link', 'End with the webhook URL (https://…).');
  if (!name) return bad('link', 'Give the dependent a name before the URL.');
  return { kind: 'link', keyId, dependentKind, name, url };
}

function parseAdminToken(args: string[]): ApikeyCommand {
  const [action = 'list', name, ...scopes] = args;
  switch (action.toLowerCase()) {
    case 'list':
      return args.length <= 1 ? { kind: 'admin_token_list' } : bad('admin-token', '`admin-token list` takes no arguments.');
    case 'create': {
      if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name))
        return bad('admin-token', 'Give the token a name of 1–64 letters, digits, dots, dashes or underscores, then its scopes.');
      const unknown = scopes.filter((s) => !(adminScopes as readonly string[]).includes(s));
      if (unknown.length) return bad('admin-token', `Unknown scope \`${truncateWord(unknown[0]!)}\`; scopes are ${adminScopes.join(', ')}.`);
      if (!scopes.length) return bad('admin-token', `Give one or more scopes after the name: ${adminScopes.join(', ')}.`);
      return { kind: 'admin_token_create', name, scopes: [...new Set(scopes)] as AdminScope[] };
    }
    case 'revoke': {
      if (!keyIdLike(name) || scopes.length) return bad('admin-token', 'Give exactly one token id (`at_…`; `/apikey admin-token list` shows them).');
      return { kind: 'admin_token_revoke', tokenId: name };
    }
    default:
      return bad('admin-token', `\`admin-token ${truncateWord(action)}\` is not an admin-token command.`);
  }
}

function parseAudit(args: string[]): ApikeyCommand {
  if (args.length === 0) return { kind: 'audit' };
  const userId = parseMention(args[0]);
  if (args.length === 1 && userId && args[0]!.startsWith('<@')) return { kind: 'audit', userId };
  if (args.length === 1 && keyIdLike(args[0])) return { kind: 'audit', keyId: args[0].replace(/`/g, '') };
  return bad('audit', 'Give one keyId, or mention one user, or nothing for the whole workspace.');
}
