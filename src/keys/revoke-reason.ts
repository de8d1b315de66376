import { z } from 'zod';

/**
 * Why a key was revoked. The preset reasons are stored and sent as these codes (a webhook
 * receiver can switch on them); anything else a person typed is kept as free text.
 */
export const PRESET_REASONS = {
  compromised: 'compromised',
  no_longer_used: 'no longer used',
  replaced: 'replaced',
  leaked: 'leaked',
} as const;
export type PresetReason = keyof typeof PRESET_REASONS;

/** Longest free-text reason kept (it is shown in notices and sent in webhooks). */
export const REASON_MAX = 200;

const aliases: Record<string, PresetReason> = {
  compromised: 'compromised',
  'no longer used': 'no_longer_used',
  'no-longer-used': 'no_longer_used',
  no_longer_used: 'no_longer_used',
  unused: 'no_longer_used',
  replaced: 'replaced',
  leaked: 'leaked',
};

/**
 * A reason as typed or picked: a preset's code when it names one (any case, with or
 * without dashes), else the trimmed free text cut to {@link REASON_MAX}; undefined when empty.
 */
export function normalizeReason(raw: string | undefined | null): string | undefined {
  const text = (raw ?? '').replace(/\s+/g, ' ').trim();
  if (!text) return undefined;
  return aliases[text.toLowerCase()] ?? [...text].slice(0, REASON_MAX).join('');
}

/** The reason recorded when Keywarden revokes an approved key its requester never collected. */
export const UNCOLLECTED_REASON = 'approval lapsed before the key was collected';

/** How a stored reason reads to people: a preset's words, or the free text itself. */
export const reasonLabel = (reason: string): string => PRESET_REASONS[reason as PresetReason] ?? reason;

/** Where a leaked key was found, as recorded with its revocation and sent to its dependents. */
export const leakSchema = z.object({
  source: z.enum(['github', 'slack']),
  /** GitHub: where the token was found. */
  url: z.string().optional(),
  /** Slack: the conversation and the message's timestamp. */
  channel: z.string().optional(),
  ts: z.string().optional(),
});
export type Leak = z.infer<typeof leakSchema>;

/** What a revocation records besides who and when. */
export interface RevokeDetails {
  reason?: string;
  leak?: Leak;
}
