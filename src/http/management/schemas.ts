import { z } from 'zod';
import { adminScopes } from '../../admin-tokens/admin-token-service.js';
import { dependentKinds } from '../../dependents/dependent-kind.js';
import { listStatuses } from '../../keys/key-service.js';
import { ROLL_OVERLAPS, type RollOverlap } from '../../keys/key-life.js';

/**
 * The wire shapes of the management API. They validate requests, type responses and
 * generate the OpenAPI document, so the three cannot drift.
 */

const date = z.string().meta({ description: 'ISO 8601.', example: '2026-12-02T03:41:17.000Z' });

/** A key as `show` gives it: never a secret. */
export const keyView = z
  .object({
    keyId: z.string().meta({ example: 'ak_3k9x0q2m7z1a' }),
    name: z.string(),
    description: z.string(),
    roles: z.array(z.string()),
    status: z.enum(['active', 'expired', 'revoked']),
    hint: z.string().meta({ description: 'The last 4 characters of the current secret.' }),
    createdAt: date,
    createdBy: z.string().meta({ description: 'A Slack user id, `token:<name>` or `cli:<os user>`.' }),
    expiresAt: date.nullable(),
    revokedAt: date.nullable(),
    revokedBy: z.string().nullable(),
    reason: z.string().nullable().meta({ description: 'Why it was revoked, when a reason was given.' }),
    lastUsedAt: date.nullable(),
  })
  .meta({ id: 'Key' });
export type KeyView = z.infer<typeof keyView>;

export const listKeysQuery = z.object({
  status: z.enum(listStatuses).default('active'),
  search: z.string().max(200).default(''),
  cursor: z.string().max(200).optional().meta({ description: '`nextCursor` of the previous page.' }),
});
export const listKeysResponse = z.object({ keys: z.array(keyView), nextCursor: z.string().nullable() }).meta({ id: 'KeyList' });

export const createKeyRequest = z
  .object({
    name: z.string(),
    description: z.string(),
    roles: z.array(z.string()),
    expiresInDays: z.number().int().nullable().optional().meta({ description: '30, 90, 180 or 365; null or absent: never.' }),
  })
  .meta({ id: 'CreateKeyRequest' });
export const createKeyResponse = z
  .object({
    key: keyView,
    secret: z
      .string()
      .nullable()
      .meta({ description: 'The token, here once. `null` on a repeat with the same Idempotency-Key: it was shown to the first request.' }),
  })
  .meta({ id: 'CreatedKey' });

export const revokeKeyRequest = z.object({ reason: z.string().trim().min(1).max(200).optional() }).meta({ id: 'RevokeKeyRequest' });
export const revokeKeyResponse = z.object({ key: keyView, alreadyRevoked: z.boolean() }).meta({ id: 'RevokedKey' });

export const rollKeyRequest = z
  .object({ overlap: z.enum(Object.keys(ROLL_OVERLAPS) as [RollOverlap, ...RollOverlap[]]).meta({ description: 'How long the old secret keeps working.' }) })
  .meta({ id: 'RollKeyRequest' });
export const rollKeyResponse = z.object({ key: keyView, secret: z.string() }).meta({ id: 'RolledKey' });

export const dependentView = z
  .object({
    dependentId: z.string(),
    keyId: z.string(),
    kind: z.enum(dependentKinds),
    name: z.string(),
    webhookUrl: z.string(),
    status: z.enum(['active', 'gone', 'unlinked']),
    createdAt: date,
    createdBy: z.string(),
  })
  .meta({ id: 'Dependent' });
export const dependentsResponse = z.object({ dependents: z.array(dependentView) }).meta({ id: 'DependentList' });
export const linkDependentRequest = z.object({ kind: z.enum(dependentKinds), name: z.string(), webhookUrl: z.string() }).meta({ id: 'LinkDependentRequest' });
export const linkDependentResponse = z
  .object({ dependent: dependentView, secret: z.string().meta({ description: 'The webhook signing secret (`whsec_…`), here once.' }) })
  .meta({ id: 'LinkedDependent' });
export const unlinkDependentResponse = z.object({ dependent: dependentView }).meta({ id: 'UnlinkedDependent' });

export const auditQuery = z.object({
  keyId: z.string().max(64).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export const auditEventView = z
  .object({
    id: z.string(),
    at: date,
    actor: z.string().meta({ description: 'A Slack user id, `token:<name>`, `cli:<os user>` or `keywarden`.' }),
    onBehalfOf: z.string().nullable().meta({ description: 'For a token: the admin who created it.' }),
    action: z.string().meta({ example: 'key.revoked' }),
    target: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent' });
export const auditResponse = z.object({ events: z.array(auditEventView), nextCursor: z.string().nullable() }).meta({ id: 'AuditPage' });

export const scopeEnum = z.enum(adminScopes);
