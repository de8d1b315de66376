import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { KeyService, LeakOutcome } from '../keys/key-service.js';
import type { Logger } from '../log.js';

/** Most tokens one alert may carry; a larger batch is refused (413) as a whole. */
export const MAX_ALERT_TOKENS = 100;
/** Largest alert body read (100 tokens with long URLs fit many times over). */
export const ALERT_BODY_LIMIT = 256 * 1024;

/** GitHub's partner-program alert: a JSON array of matches. */
export const githubAlert = z.array(
  z.object({
    token: z.string().max(1024),
    type: z.string().max(256),
    url: z.string().max(4096).optional(),
    source: z.string().max(256).optional(),
  }),
);
export type GithubAlert = z.infer<typeof githubAlert>;

/** One entry of the feedback GitHub accepts in answer. */
export interface AlertFeedback {
  /** Hex SHA-256 of the token: the token itself is never written anywhere, answers included. */
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

/** Actor of revocations made on GitHub's report (audit trail, notices, webhooks' revokedBy). */
export const GITHUB_ACTOR = 'github-secret-scanning';

/**
 * Handles a verified alert: each token's checksum first (noise costs no I/O), then its key;
 * an active key is revoked as leaked with the URL it was found at, the alert's keys in one
 * batch (KeyService.revokeLeakedMany). Labels: `true_positive`
 * for a token that is or was a real key's secret, `false_positive` otherwise. A resent alert
 * finds the keys revoked and changes nothing.
 */
export async function handleGithubAlert(keys: KeyService, alert: GithubAlert, log: Logger): Promise<AlertFeedback[]> {
  // Each token decided as if alone; the keys revoked together (one announcement, one enqueue).
  const outcomes: LeakOutcome[] = await keys.revokeLeakedMany(
    alert.map((m) => ({ token: m.token, leak: { source: 'github' as const, ...(m.url ? { url: m.url } : {}) } })),
    GITHUB_ACTOR,
  );
  const revoked = outcomes.flatMap((o) => (o.kind === 'revoked' && o.changed ? [o.key.keyId] : []));
  log.info(
    { tokens: alert.length, revoked, known: outcomes.filter((o) => o.kind === 'revoked' || o.kind === 'inactive').length },
    'github secret-scanning alert handled',
  );
  return alert.map((m, i) => ({
    token_hash: createHash('sha256').update(m.token).digest('hex'),
    token_type: m.type,
    label: outcomes[i]!.kind === 'revoked' || outcomes[i]!.kind === 'inactive' ? 'true_positive' : 'false_positive',
  }));
}
