import { z } from 'zod';
import type { AuditCursor } from '../audit/audit-log.js';

/**
 * Which page of activity is shown: a key's timeline (`k`) or the workspace's (optionally of
 * one user, `u`), and the page's edge. Carried in Previous/Next values and the modal's
 * metadata, so any replica renders the next page without session state.
 */
export const auditState = z.object({
  k: z.string().max(64).optional().catch(undefined),
  u: z.string().max(32).optional().catch(undefined),
  /** Older than this cursor. */
  b: z.string().max(200).optional().catch(undefined),
  /** Newer than this cursor. */
  a: z.string().max(200).optional().catch(undefined),
});
export type AuditState = z.infer<typeof auditState>;

/** Reads a state from JSON text; anything unreadable is the first page of the workspace. */
export function parseAuditState(text: string | undefined | null): AuditState {
  try {
    const parsed = auditState.safeParse(JSON.parse(text ?? '{}'));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

export const encodeCursor = (c: { at: Date; id: string }) => `${c.at.getTime()}.${c.id}`;

/** `<ms>.<id>` → a cursor; undefined for anything else (that page is then the first one). */
export function decodeCursor(s: string | undefined): AuditCursor | undefined {
  const m = s ? /^(\d{1,15})\.(.{1,180})$/.exec(s) : null;
  return m ? { at: new Date(Number(m[1])), id: m[2]! } : undefined;
}
