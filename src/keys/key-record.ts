/**
 * The domain's records of a key, as the rest of the code sees them (never the secret's hash).
 * The store maps its documents to these; Slack, the jobs and the HTTP API import them from here.
 */

import type { Leak } from './revoke-reason.js';
import type { MemberRole } from '../members/member-record.js';

/** An API key as the rest of the code sees it: everything but the hash. */
export interface KeyRecord {
  communityId: string;
  keyId: string;
  name: string;
  description: string;
  roles: string[];
  status: 'active' | 'revoked';
  hint: string;
  createdBy: string;
  createdAt: Date;
  revokedAt?: Date;
  revokedBy?: string;
  /** Why it was revoked (see revoke-reason.ts); undefined when no reason was given. */
  reason?: string;
  /** Where a leaked key was found. */
  leak?: Leak;
  /** When the key stops working; undefined: never. */
  expiresAt?: Date;
  /** After a roll: the last 4 characters of the previous secret, and until when it works. */
  previousHint?: string;
  previousValidUntil?: Date;
  rolledAt?: Date;
  rolledBy?: string;
  lastUsedAt?: Date;
  notification: {
    state: 'none' | 'pending' | 'enqueued' | 'done';
    event?: 'revoked' | 'expired';
    total: number;
    delivered: number;
    failed: number;
    gone: number;
    pendingSince?: Date;
    doneAt?: Date;
  };
  /** Whether verifiers were told of the revocation: `none` while active, `pending` until announced. */
  announce?: { state: 'none' | 'pending' | 'done'; since?: Date };
}

/** Keyset cursor: the (createdAt, _id) of the row a page starts after or ends before. */
export interface Cursor {
  t: number;
  id: string;
}

/** The latest time a JavaScript Date can hold (ms since the epoch). */
const MAX_DATE_MS = 8.64e15;

export const encodeCursor = (c: Cursor) => `${c.t.toString(36)}.${c.id}`;

/**
 * A cursor from a button value or `private_metadata`, which anyone can edit: undefined
 * unless it is exactly what {@link encodeCursor} makes of a real position (a time a Date
 * can hold, an ObjectId). Never throws; the query never sees an invalid date.
 */
export function decodeCursor(s: string): Cursor | undefined {
  const m = /^([0-9a-z]{1,11})\.([0-9a-f]{24})$/.exec(s);
  if (!m) return undefined;
  const t = parseInt(m[1]!, 36);
  if (!Number.isSafeInteger(t) || t > MAX_DATE_MS || Number.isNaN(new Date(t).getTime())) return undefined;
  const cursor = { t, id: m[2]! };
  return encodeCursor(cursor) === s ? cursor : undefined;
}

export interface ListQuery {
  communityId: string;
  /** `active` and `expired` are both stored as `active`: the expiry instant against `now` tells them apart. */
  status: 'active' | 'expired' | 'revoked' | 'all';
  now: Date;
  /** Words; each must match name, description or keyId (case-insensitive, literally). */
  words: string[];
  /** Only keys created by this user (their Slack user id, or `cli:…`). */
  createdBy?: string;
  limit: number;
  after?: Cursor;
  before?: Cursor;
}

export interface ListPage {
  items: KeyRecord[];
  /** Cursor for the next (older) page, when there is one. */
  next?: string;
  /** Cursor for the previous (newer) page, when there is one. */
  prev?: string;
  /** The cursor asked for did not decode to a position: this is the first page instead. */
  cursorGone?: boolean;
}

/**
 * A page as `KeyService.list` gives it: with the role of whoever listed, read by the same
 * membership check that let them list, so a surface choosing what to offer (admins get
 * Revoke buttons) does not read it a second time.
 */
export interface ListedPage extends ListPage {
  viewerRole: MemberRole;
}
