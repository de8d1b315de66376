import { z } from 'zod';

/** Statuses people see: revoked wins; otherwise expired from the expiry instant on. */
export type LifeStatus = 'active' | 'expired' | 'revoked';

export const DAY_MS = 24 * 3600 * 1000;
/** The furthest a key may expire: two years (730 days) after it is created. */
export const MAX_EXPIRY_DAYS = 730;
/** What the create form offers besides Never and a date. */
export const EXPIRY_PRESETS = [30, 90, 180, 365] as const;
export const DEFAULT_EXPIRY_DAYS = 365;

export const EXPIRY_DAYS_RULE = `Expiry must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}, or never.`;
export const EXPIRY_DATE_RULE = 'Pick a date after today and at most two years out.';
export const EXPIRY_DATE_MISSING = 'Pick the date the key expires.';

/**
 * How long a key lives, as admins give it: `expiresInDays` (null: never; absent: 365), or
 * `expiresOn` (`YYYY-MM-DD`, the key stops at 00:00 UTC that day) which wins when given.
 */
export const expiryInput = z.object({
  expiresInDays: z
    .number({ message: EXPIRY_DAYS_RULE })
    .int({ message: EXPIRY_DAYS_RULE })
    .min(1, { message: EXPIRY_DAYS_RULE })
    .max(MAX_EXPIRY_DAYS, { message: EXPIRY_DAYS_RULE })
    .nullable()
    .optional(),
  expiresOn: z.string({ message: EXPIRY_DATE_RULE }).max(10, { message: EXPIRY_DATE_RULE }).optional(),
});
export type ExpiryInput = z.infer<typeof expiryInput>;

/**
 * The expiry instant of a new key, or null for never; a field → message map when the input
 * breaks a rule (the date must be after today, UTC, and at most 730 days out).
 */
export function resolveExpiry(input: ExpiryInput, now: number): { expiresAt: Date | null } | { errors: Record<string, string> } {
  if (input.expiresOn !== undefined) {
    if (input.expiresOn === '') return { errors: { expiresOn: EXPIRY_DATE_MISSING } };
    if (!/^\d{4}-\d{2}-\d{2}$/.test(input.expiresOn)) return { errors: { expiresOn: EXPIRY_DATE_RULE } };
    const at = Date.parse(`${input.expiresOn}T00:00:00.000Z`);
    if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== input.expiresOn) return { errors: { expiresOn: EXPIRY_DATE_RULE } };
    if (at <= now || at > now + MAX_EXPIRY_DAYS * DAY_MS) return { errors: { expiresOn: EXPIRY_DATE_RULE } };
    return { expiresAt: new Date(at) };
  }
  if (input.expiresInDays === null) return { expiresAt: null };
  return { expiresAt: new Date(now + (input.expiresInDays ?? DEFAULT_EXPIRY_DAYS) * DAY_MS) };
}

export const isExpired = (key: { expiresAt?: Date | undefined }, now: number) => key.expiresAt !== undefined && key.expiresAt.getTime() <= now;

export function lifeStatus(key: { status: 'active' | 'revoked'; expiresAt?: Date | undefined }, now: number): LifeStatus {
  if (key.status === 'revoked') return 'revoked';
  return isExpired(key, now) ? 'expired' : 'active';
}

const dateFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
/** `Dec 13, 2026` (UTC). */
export const shortDate = (d: Date) => dateFormat.format(d);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `Expires in 12 days (Dec 13, 2026)`, `Expired Dec 1, 2026` or `Never expires`. */
export function expiryText(key: { expiresAt?: Date | undefined }, now: number): string {
  if (!key.expiresAt) return 'Never expires';
  const left = key.expiresAt.getTime() - now;
  if (left <= 0) return `Expired ${shortDate(key.expiresAt)}`;
  const span = left < DAY_MS ? plural(Math.max(1, Math.ceil(left / 3_600_000)), 'hour') : plural(Math.ceil(left / DAY_MS), 'day');
  return `Expires in ${span} (${shortDate(key.expiresAt)})`;
}

/** Reminders before expiry: 7 days and 1 day ahead. Ids (`7d`, `1d`) name them in records and jobs. */
export const REMINDERS = [
  { id: '7d', beforeMs: 7 * DAY_MS },
  { id: '1d', beforeMs: DAY_MS },
] as const;
export type ReminderId = (typeof REMINDERS)[number]['id'];

/** How long the old secret keeps working after a roll. */
export const ROLL_OVERLAPS = { none: 0, '1h': 3_600_000, '24h': DAY_MS, '7d': 7 * DAY_MS } as const;
export type RollOverlap = keyof typeof ROLL_OVERLAPS;
export const rollOverlaps = Object.keys(ROLL_OVERLAPS) as RollOverlap[];
export const DEFAULT_ROLL_OVERLAP: RollOverlap = '24h';
export const rollOverlapLabels: Record<RollOverlap, string> = { none: 'Not at all', '1h': '1 hour', '24h': '24 hours', '7d': '7 days' };
