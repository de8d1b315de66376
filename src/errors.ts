/** Codes of expected failures, turned into friendly Slack text or HTTP errors in one place each. */
export type ErrorCode = 'not_found' | 'already_revoked' | 'forbidden' | 'invalid_input' | 'conflict' | 'unavailable';

/**
 * An expected failure of the domain. `fields` maps an input field (`name`, `description`,
 * `roles`, …) to a message, so a modal can show it inline on the failing field.
 */
export class KeyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'KeyError';
  }
}

export const isKeyError = (e: unknown): e is KeyError => e instanceof KeyError;
