/**
 * Tells every process that verifies keys that a key was revoked, so that none keeps
 * answering `valid` from its cache. A required part of KeyService: whatever revokes (Slack,
 * a script, a future API) announces, because revoking goes through KeyService.
 *
 * The domain holds only this interface; src/revocation has the Redis implementation.
 */
export interface RevocationAnnouncer {
  /**
   * Resolves once no verifier will answer `valid` for `keyId` from its cache (every check
   * that starts afterwards reads MongoDB or sees the key revoked). Rejects if that could not
   * be made sure of within its own bound (Redis unreachable): the caller keeps the
   * announcement pending and retries it.
   */
  announce(keyId: string): Promise<void>;
  /** As {@link announce}, for several keys at once (one round trip and one wait for all); optional. */
  announceMany?(keyIds: readonly string[]): Promise<void>;
  /**
   * The most a verifier may go on answering `valid` from its cache after a revocation that
   * was not announced (VERIFY_CACHE_TTL_MS): cached answers expire by then on their own.
   */
  readonly unannouncedStaleMs: number;
}
