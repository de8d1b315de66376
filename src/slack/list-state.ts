import { z } from 'zod';
import { listStatuses, type ListOptions } from '../keys/key-service.js';
import { fitJson, limits } from './blocks/text.js';

/**
 * What a key list shows: status filter, search text and the page cursor. Carried in the
 * Previous/Next button values and in the Home view's `private_metadata`, so every replica
 * can render the next page without server-side session state.
 */
export const listState = z.object({
  /** Status filter. */
  s: z.enum(listStatuses).catch('active'),
  /** Search words. */
  q: z
    .string()
    .transform((s) => s.slice(0, 500))
    .catch(''),
  /** Page starts after this cursor. Anything but a string is kept as a cursor that decodes to nothing ("that page is gone"). */
  a: z
    .string()
    .transform((s) => s.slice(0, 64))
    .optional()
    .catch('?'),
  /** Page ends before this cursor. */
  b: z
    .string()
    .transform((s) => s.slice(0, 64))
    .optional()
    .catch('?'),
});
export type ListState = z.infer<typeof listState>;

export const defaultListState: ListState = { s: 'active', q: '' };

/** Reads a state from JSON text; anything unreadable is the default list. */
export function parseListState(text: string | undefined | null): ListState {
  if (!text) return { ...defaultListState };
  try {
    const parsed = listState.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : { ...defaultListState };
  } catch {
    return { ...defaultListState };
  }
}

/** The state as button-value JSON (≤ 2000 characters; long searches are shortened). */
export const encodeListState = (state: ListState, max: number = limits.buttonValue) =>
  fitJson({ s: state.s, q: state.q, ...(state.a ? { a: state.a } : {}), ...(state.b ? { b: state.b } : {}) }, max);

const creatorMention = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/;

/**
 * What to ask `KeyService.list` for a state: a mentioned user among the search words
 * (`/apikey list @alice soar`, which Slack sends as `<@U…|alice>`) filters by creator; the
 * other words are the search.
 */
export function listOptionsOf(state: ListState): ListOptions {
  const words = state.q.split(/\s+/).filter(Boolean);
  const createdBy = words.map((w) => creatorMention.exec(w)?.[1]).find(Boolean);
  const search = words.filter((w) => !creatorMention.test(w)).join(' ');
  return { status: state.s, search, ...(createdBy ? { createdBy } : {}), after: state.a, before: state.b };
}
