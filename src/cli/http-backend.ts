import type { CliCommand } from './args.js';
import { CliError, EXIT } from './errors.js';

/** Runs a command against a running Keywarden's management API (KEYWARDEN_URL + KEYWARDEN_ADMIN_TOKEN). */
export function httpBackend(baseUrl: string, adminToken: string | undefined) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth = true): Promise<unknown> => {
    if (auth && !adminToken)
      throw new CliError(EXIT.usage, 'Set KEYWARDEN_ADMIN_TOKEN (an admin token from `/apikey admin-token create`), or use --break-glass.');
    let res: Response;
    try {
      res = await fetch(new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`), {
        method,
        headers: {
          ...(auth ? { authorization: `Bearer ${adminToken}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new CliError(
        EXIT.unreachable,
        `Cannot reach Keywarden at ${baseUrl} (${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}).`,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new CliError(EXIT.unreachable, `${baseUrl} answered ${res.status} with something that is not Keywarden's JSON.`);
    }
    if (res.ok) return json;
    const message = (json as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status}`;
    throw new CliError(res.status >= 500 ? EXIT.unreachable : EXIT.refused, `${message} (HTTP ${res.status})`);
  };
  const k = (id: string) => `v1/keys/${encodeURIComponent(id)}`;

  return async function run(cmd: CliCommand): Promise<unknown> {
    switch (cmd.kind) {
      case 'keys_list': {
        const q = new URLSearchParams({ status: cmd.status, search: cmd.search, ...(cmd.cursor ? { cursor: cmd.cursor } : {}) });
        return call('GET', `v1/keys?${q.toString()}`);
      }
      case 'keys_show':
        return call('GET', k(cmd.keyId));
      case 'keys_create': {
        const { name, description, roles, expiresInDays, idempotencyKey } = cmd;
        return call(
          'POST',
          'v1/keys',
          { name, description, roles, ...(expiresInDays !== undefined ? { expiresInDays } : {}) },
          idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
        );
      }
      case 'keys_revoke':
        return call('POST', `${k(cmd.keyId)}/revoke`, cmd.reason ? { reason: cmd.reason } : {});
      case 'keys_roll':
        return call('POST', `${k(cmd.keyId)}/roll`, { overlap: cmd.overlap });
      case 'dependents_list':
        return call('GET', `${k(cmd.keyId)}/dependents`);
      case 'dependents_link':
        return call('POST', `${k(cmd.keyId)}/dependents`, { kind: cmd.dependentKind, name: cmd.name, webhookUrl: cmd.webhookUrl });
      case 'dependents_unlink':
        return call('DELETE', `${k(cmd.keyId)}/dependents/${encodeURIComponent(cmd.dependentId)}`);
      case 'audit':
        return call(
          'GET',
          `v1/audit?${new URLSearchParams({ ...(cmd.keyId ? { keyId: cmd.keyId } : {}), ...(cmd.cursor ? { cursor: cmd.cursor } : {}) }).toString()}`,
        );
      case 'verify':
        return call(
          'POST',
          'v1/keys/verify',
          { key: cmd.token },
          process.env.VERIFY_TOKEN ? { authorization: `Bearer ${process.env.VERIFY_TOKEN}` } : {},
          false,
        );
      case 'members_list':
      case 'members_add':
      case 'members_remove':
      case 'admin_tokens_list':
      case 'admin_tokens_create':
      case 'admin_tokens_revoke':
        throw new CliError(
          EXIT.refused,
          'Members and admin tokens are managed in Slack (`/apikey members`, `/apikey admin-token`) or with --break-glass; the management API has no routes for them.',
        );
      case 'help':
      case 'usage':
        throw new Error('not a backend command');
    }
  };
}
