import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { errorResponse } from '../schemas.js';
import {
  auditQuery,
  auditResponse,
  createKeyRequest,
  createKeyResponse,
  dependentsResponse,
  keyView,
  linkDependentRequest,
  linkDependentResponse,
  listKeysQuery,
  listKeysResponse,
  revokeKeyRequest,
  revokeKeyResponse,
  rollKeyRequest,
  rollKeyResponse,
  unlinkDependentResponse,
} from './schemas.js';

const json = <T>(schema: T) => ({ 'application/json': { schema } });

/** Adds the management API's paths to the OpenAPI document, from the schemas the routes use. */
export function registerManagementPaths(registry: OpenAPIRegistry): void {
  const adminToken = registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'An admin token (`kwadm_…`) made with `/apikey admin-token create <name> <scope…>`. Each route needs one scope.',
  });
  const error = (description: string) => ({ description, content: json(errorResponse) });
  const common = {
    401: error('No admin token, or one that is unknown, mistyped or revoked.'),
    403: error('The admin token lacks the scope this route needs.'),
    429: error('This admin token made more than MANAGEMENT_RATE_LIMIT requests in the window (across replicas); `Retry-After` says when to try again.'),
  };
  const keyId = z.object({ keyId: z.string().meta({ example: 'ak_3k9x0q2m7z1a' }) });
  const route = (
    method: 'get' | 'post' | 'delete',
    path: string,
    scope: string,
    operationId: string,
    summary: string,
    request: Record<string, unknown>,
    responses: Record<number, unknown>,
  ) =>
    registry.registerPath({
      method,
      path,
      operationId,
      summary: `${summary} (scope ${scope})`,
      security: [{ [adminToken.name]: [] }],
      tags: ['management'],
      request: request,
      responses: { ...responses, ...common },
    });

  route(
    'get',
    '/v1/keys',
    'keys:read',
    'listKeys',
    'List keys, 10 a page',
    { query: listKeysQuery },
    {
      200: { description: 'A page; `nextCursor` is null on the last.', content: json(listKeysResponse) },
      400: error('A query parameter or the cursor is not valid.'),
    },
  );
  route(
    'post',
    '/v1/keys',
    'keys:write',
    'createKey',
    'Create a key; the secret is in the answer once',
    {
      headers: z.object({
        'idempotency-key': z
          .string()
          .optional()
          .meta({ description: 'A repeat with the same key (and body) makes no second key and answers 200 with `secret: null`.' }),
      }),
      body: { required: true, content: json(createKeyRequest) },
    },
    {
      201: { description: 'Created; `Cache-Control: no-store`.', content: json(createKeyResponse) },
      200: { description: 'A repeat of an Idempotency-Key: the key the first request made, `secret: null`.', content: json(createKeyResponse) },
      400: error('The body breaks a rule (name 1–64, description 11–99 characters, known roles, expiry).'),
      409: error('The Idempotency-Key was used with another body, or its first request is still being processed.'),
    },
  );
  route(
    'get',
    '/v1/keys/{keyId}',
    'keys:read',
    'showKey',
    'One key, never its secret',
    { params: keyId },
    {
      200: { description: 'The key.', content: json(keyView) },
      404: error("No such key in the token's community."),
    },
  );
  route(
    'post',
    '/v1/keys/{keyId}/revoke',
    'keys:revoke',
    'revokeKey',
    'Revoke a key: caches dropped everywhere, dependents told, Slack notice posted',
    {
      params: keyId,
      body: { required: false, content: json(revokeKeyRequest) },
    },
    {
      200: { description: 'Revoked (or already revoked, said so).', content: json(revokeKeyResponse) },
      400: error('The key already expired, or the body is not valid.'),
      404: error("No such key in the token's community."),
    },
  );
  route(
    'post',
    '/v1/keys/{keyId}/roll',
    'keys:write',
    'rollKey',
    'Roll a key: a new secret, the old one working for the overlap',
    {
      params: keyId,
      body: { required: true, content: json(rollKeyRequest) },
    },
    {
      200: { description: 'Rolled; the new secret once.', content: json(rollKeyResponse) },
      400: error('The key is not active, or the overlap is not one of none, 1h, 24h, 7d.'),
      404: error("No such key in the token's community."),
      409: error('Rolled by someone else at the same moment.'),
    },
  );
  route(
    'get',
    '/v1/keys/{keyId}/dependents',
    'keys:read',
    'listDependents',
    'The playbooks and CTI connectors told when the key is revoked',
    { params: keyId },
    {
      200: { description: 'Every dependent, oldest first.', content: json(dependentsResponse) },
      404: error("No such key in the token's community."),
    },
  );
  route(
    'post',
    '/v1/keys/{keyId}/dependents',
    'dependents:write',
    'linkDependent',
    'Link a dependent; its webhook signing secret once',
    {
      params: keyId,
      body: { required: true, content: json(linkDependentRequest) },
    },
    {
      201: { description: 'Linked.', content: json(linkDependentResponse) },
      400: error('The kind, name or webhook URL is not valid (https, public address).'),
      404: error("No such key in the token's community."),
    },
  );
  route(
    'delete',
    '/v1/keys/{keyId}/dependents/{dependentId}',
    'dependents:write',
    'unlinkDependent',
    'Unlink a dependent',
    {
      params: keyId.extend({ dependentId: z.string() }),
    },
    {
      200: { description: 'Unlinked (again: a no-op).', content: json(unlinkDependentResponse) },
      404: error("No such dependent of that key in the token's community."),
    },
  );
  route(
    'get',
    '/v1/audit',
    'audit:read',
    'listAudit',
    'The audit trail, newest first',
    { query: auditQuery },
    {
      200: { description: 'A page; `nextCursor` is null on the last.', content: json(auditResponse) },
      400: error('A query parameter or the cursor is not valid.'),
    },
  );
}
