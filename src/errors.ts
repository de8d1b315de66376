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

/**
 * A zod failure as a KeyError `invalid_input`: the first message of each top-level field
 * (`input` for the whole), so a modal can show it inline on that field.
 */
export function invalidInput(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, extra: Record<string, string> = {}): KeyError {
  const fields: Record<string, string> = {};
  for (const issue of issues) fields[String(issue.path[0] ?? 'input')] ??= issue.message;
  Object.assign(fields, extra);
  return new KeyError('invalid_input', Object.values(fields).join(' '), fields);
}
