import { checkToken } from '../keys/token.js';

/** Most distinct tokens one message is checked for (a wall of fake tokens costs no more). */
export const MAX_TOKENS_PER_MESSAGE = 10;

/**
 * Finds the tokens of this deployment in free text: a plain substring test first (most
 * messages end there, in microseconds), then the token's shape, then its checksum, all
 * without I/O. Returns the distinct tokens that pass the checksum, at most
 * {@link MAX_TOKENS_PER_MESSAGE}.
 */
export function tokenScanner(prefix: string): (text: string) => string[] {
  const marker = `${prefix}_`;
  const shape = new RegExp(`(?<![0-9A-Za-z])${prefix}_[0-9A-Za-z]{36}(?![0-9A-Za-z])`, 'g');
  return (text) => {
    if (!text.includes(marker)) return [];
    const found = new Set<string>();
    for (const m of text.matchAll(shape)) {
      if (checkToken(m[0], prefix).ok) found.add(m[0]);
      if (found.size >= MAX_TOKENS_PER_MESSAGE) break;
    }
    return [...found];
  };
}
