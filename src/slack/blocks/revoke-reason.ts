import type { StaticSelect } from '@slack/types';
import { z } from 'zod';
import { PRESET_REASONS, type PresetReason } from '../../keys/revoke-reason.js';
import { actionIds } from '../ids.js';
import { plain } from './text.js';

const option = (code: PresetReason) => ({ text: plain(PRESET_REASONS[code][0]!.toUpperCase() + PRESET_REASONS[code].slice(1), 75), value: code });

/** The optional "Reason" select beside `Revoke`, preset to a typed preset reason. */
export function reasonSelect(initial?: string): StaticSelect {
  const codes = Object.keys(PRESET_REASONS) as PresetReason[];
  const preset = codes.find((c) => c === initial);
  return {
    type: 'static_select',
    action_id: actionIds.revokeReason,
    placeholder: plain('Reason (optional)', 150),
    options: codes.map(option),
    ...(preset ? { initial_option: option(preset) } : {}),
  };
}

const withReason = z.object({ k: z.string().min(1).max(80), r: z.string().max(300).optional() });

/** The `Revoke` button's value: the keyId, or `{k, r}` when a reason was typed with the command. */
export const revokeValue = (keyId: string, reason?: string) => (reason ? JSON.stringify({ k: keyId, r: reason }) : keyId);

/** Reads a `Revoke` button's value (anyone can forge it: zod, and the domain checks the rest). */
export function parseRevokeValue(value: string | undefined): { keyId: string; reason?: string } {
  if (!value?.startsWith('{')) return { keyId: value ?? '' };
  try {
    const v = withReason.parse(JSON.parse(value));
    return { keyId: v.k, ...(v.r ? { reason: v.r } : {}) };
  } catch {
    return { keyId: '' };
  }
}
