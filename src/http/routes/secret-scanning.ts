import type { KeyService } from '../../keys/key-service.js';
import { ALERT_BODY_LIMIT, githubAlert, handleGithubAlert, MAX_ALERT_TOKENS } from '../../leaks/github-alert.js';
import type { GithubPublicKeys } from '../../leaks/github-keys.js';
import { readBody } from '../body.js';
import { HttpError, sendJson } from '../errors.js';
import type { Handler } from '../server.js';

const header = (v: string | string[] | undefined) => (typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : undefined);

/**
 * `POST /v1/secret-scanning/github`, GitHub's secret-scanning partner endpoint. Order: the
 * body within its bound (413), then the signature over the raw bytes (401; nothing is
 * looked up for an unsigned or badly signed body), then the JSON shape (400) and the number
 * of tokens (413), then each token.
 */
export function secretScanningRoute(keys: KeyService, github: GithubPublicKeys): Handler {
  return async (req, res, ctx) => {
    const body = await readBody(req, ALERT_BODY_LIMIT);
    const id = header(req.headers['github-public-key-identifier']);
    const signature = header(req.headers['github-public-key-signature']);
    if (!id || !signature || !(await github.verify(id, signature, body))) {
      ctx.log.warn(
        { requestId: ctx.requestId, keyIdentifier: id?.slice(0, 80), signed: Boolean(signature) },
        'refused a secret-scanning alert without a valid GitHub signature',
      );
      throw new HttpError(401, 'unauthorized', 'Missing or invalid GitHub signature.');
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'invalid_request', 'Body must be a JSON array of {token, type, url, source}.');
    }
    const alert = githubAlert.safeParse(json);
    if (!alert.success) throw new HttpError(400, 'invalid_request', 'Body must be a JSON array of {token, type, url, source}.');
    if (alert.data.length > MAX_ALERT_TOKENS) throw new HttpError(413, 'payload_too_large', `At most ${MAX_ALERT_TOKENS} tokens per alert.`);
    sendJson(res, 200, await handleGithubAlert(keys, alert.data, ctx.log), ctx.requestId);
  };
}
