import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { DependentRecord } from '../../dependents/dependent-record.js';
import { lifeStatus } from '../../keys/key-life.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { readBody } from '../body.js';
import { HttpError } from '../errors.js';
import type { dependentView, KeyView } from './schemas.js';

const problem = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

/** The JSON body parsed with `schema`; 400 for anything else. An empty body is `{}`. */
export async function readJson<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<{ data: z.infer<T>; raw: Buffer }> {
  const raw = await readBody(req);
  let value: unknown = {};
  if (raw.length) {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(400, 'invalid_request', 'Send the body as application/json.');
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'invalid_request', 'The body is not valid JSON.');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, 'invalid_request', problem(parsed.error));
  return { data: parsed.data, raw };
}

/** The query string parsed with `schema`; 400 for anything else. */
export function readQuery<T extends z.ZodType>(req: IncomingMessage, schema: T): z.infer<T> {
  const url = new URL(req.url ?? '/', 'http://x');
  const parsed = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) throw new HttpError(400, 'invalid_request', problem(parsed.error));
  return parsed.data;
}

const iso = (d: Date | undefined) => d?.toISOString() ?? null;

/** A key as the API shows it: its status as people see it at `now`, never a secret. */
export function toKeyView(k: KeyRecord, now: number): KeyView {
  return {
    keyId: k.keyId,
    name: k.name,
    description: k.description,
    roles: k.roles,
    status: lifeStatus(k, now),
    hint: k.hint,
    createdAt: k.createdAt.toISOString(),
    createdBy: k.createdBy,
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
    revokedBy: k.revokedBy ?? null,
    reason: k.reason ?? null,
    lastUsedAt: iso(k.lastUsedAt),
  };
}

export const toDependentView = (d: DependentRecord): z.infer<typeof dependentView> => ({
  dependentId: d.dependentId,
  keyId: d.keyId,
  kind: d.kind,
  name: d.name,
  webhookUrl: d.webhookUrl,
  status: d.status,
  createdAt: d.createdAt.toISOString(),
  createdBy: d.createdBy,
});
