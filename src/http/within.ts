import { deadline } from '../util/deadline.js';

/** `work`'s result, or `fallback` if it has not settled within `ms` (or if it fails). */
export function within<T>(ms: number, work: () => Promise<T>, fallback: T): Promise<T> {
  return deadline(Promise.resolve().then(work), ms, 'work').catch(() => fallback);
}
