import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { registerManagementPaths } from './management/openapi.js';
import { errorResponse, liveness, readiness, verifyRequest, verifyResponse } from './schemas.js';

const json = <T>(schema: T) => ({ 'application/json': { schema } });

/** The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas the routes use. */
export function openApiDocument(version = '0.1.0') {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'verifyToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'Required only when the deployment sets VERIFY_TOKEN.',
  });
  const error = (description: string) => ({ description, content: json(errorResponse) });

  registry.registerPath({
    method: 'post',
    path: '/v1/keys/verify',
    operationId: 'verifyKey',
    summary: 'Check a presented API key',
    description:
      'Answers whether the key is valid and with which roles. Invalid keys are a 200 with `valid: false` and a reason. ' +
      'A key revoked before the revoke call returned is never reported valid afterwards, by any replica.',
    security: [{ [bearer.name]: [] }, {}],
    request: { body: { required: true, content: json(verifyRequest) } },
    responses: {
      200: { description: 'The verdict.', content: json(verifyResponse) },
      400: error('The body is not `{"key": string}` as JSON, or the Content-Type is not application/json.'),
      401: error('VERIFY_TOKEN is set and the bearer token is missing or wrong.'),
      413: error('The body is larger than 8 KiB.'),
      429: error(
        'This client caused too many `unknown` answers (VERIFY_MISS_LIMIT per window); `Retry-After` says when to try again. Cached answers are still given meanwhile.',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    summary: 'The process is up',
    responses: { 200: { description: 'Up.', content: json(liveness) } },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    summary: 'MongoDB and Redis are reachable',
    responses: {
      200: { description: 'Ready.', content: json(readiness) },
      503: { description: 'Not ready; `checks` and `error.message` name what is down.', content: json(readiness) },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
  });
  registerManagementPaths(registry);

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Keywarden HTTP API', version, description: 'Verify API keys managed from Slack; manage them with admin tokens; health and metrics.' },
  });
}
