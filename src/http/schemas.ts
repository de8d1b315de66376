import { z } from 'zod';

/**
 * The wire shapes of the HTTP API. They validate requests, type responses and generate
 * the OpenAPI document (`.meta({ id })` names a component), so the three cannot drift.
 */

/** `POST /v1/keys/verify` request body. */
export const verifyRequest = z
  .object({
    key: z.string().meta({ description: 'The API key (token) presented to your service.', example: 'kw_3Yt0aVb5Qk9Zr1Xc7Lm2Np4Hs6Jd8Fg0WeR1a2B' }),
  })
  .meta({ id: 'VerifyRequest' });
export type VerifyRequest = z.infer<typeof verifyRequest>;

export const verifyValid = z
  .object({
    valid: z.literal(true),
    keyId: z.string().meta({ example: 'ak_3k9x0q2m7z1a' }),
    name: z.string(),
    roles: z.array(z.string()).meta({ description: 'Role ids granted to the key.', example: ['ic_viewer'] }),
    communityId: z.string().meta({ description: 'Slack enterprise or team id that owns the key.', example: 'T0123ABCD' }),
  })
  .meta({ id: 'VerifyValid' });

export const invalidReasons = ['malformed', 'unknown', 'revoked', 'expired', 'rolled'] as const;
export type InvalidReason = (typeof invalidReasons)[number];

export const verifyInvalid = z
  .object({
    valid: z.literal(false),
    reason: z.enum(invalidReasons).meta({
      description:
        '`malformed`: not a token of this deployment (shape or checksum); `unknown`: no such key; `revoked`: the key was revoked; `expired`: the key reached its expiry instant (answered from that instant on, cached or not); `rolled`: a secret the key was rolled away from, after its overlap ended.',
    }),
  })
  .meta({ id: 'VerifyInvalid' });

/** `POST /v1/keys/verify` 200 body. */
export const verifyResponse = z.union([verifyValid, verifyInvalid]).meta({ id: 'VerifyResponse' });
export type VerifyResponse = z.infer<typeof verifyResponse>;

export const errorCodes = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'conflict',
  'not_found',
  'method_not_allowed',
  'request_timeout',
  'payload_too_large',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type HttpErrorCode = (typeof errorCodes)[number];

/** Every error answer, whatever the route. */
export const errorResponse = z
  .object({
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string(),
      requestId: z.string().meta({ description: 'Also sent as the `x-request-id` header; quote it in bug reports.' }),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorResponse = z.infer<typeof errorResponse>;

export const checkState = z.enum(['ok', 'down']);

/** `GET /readyz` body (200 or 503; the 503 also carries `error`). */
export const readiness = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ mongodb: checkState, redis: checkState }),
    error: errorResponse.shape.error.optional(),
  })
  .meta({ id: 'Readiness' });
export type Readiness = z.infer<typeof readiness>;

export const liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });
