/** A request for a key (`/apikey request`), as the domain and its adapters see it. */
export interface KeyRequest {
  requestId: string;
  communityId: string;
  requestedBy: string;
  input: { name: string; description: string; roles: string[]; expiresInDays?: number | null; expiresOn?: string };
  why: string;
  /** The keyId the key gets if approved, chosen at request time (so no second key can be made). */
  keyId: string;
  createdAt: Date;
  lapsesAt: Date;
}

/** The one decision on a request; `lapsed` is recorded by the request scan (by `keywarden`). */
export interface Decision {
  decision: 'approved' | 'denied' | 'cancelled' | 'lapsed';
  by: string;
  at: Date;
  reason?: string | undefined;
}

export type RequestState = 'pending' | 'approved' | 'denied' | 'cancelled' | 'lapsed';

/** Where a request stands now, by the domain clock. */
export interface RequestStatus {
  state: RequestState;
  decision: Decision | undefined;
  /** The key exists (an approval created it, or a collect did). */
  keyCreated: boolean;
  /** The requester was shown the secret (DM or the Collect modal). */
  delivered: boolean;
  /** Approved, not yet delivered, and the collect window is open: `Collect key` works. */
  collectable: boolean;
  /** For an approval: until when the requester may collect (the approval + REQUEST_TTL_DAYS). */
  collectUntil: Date | undefined;
  /** REQUEST_TTL_DAYS, for the texts that name it. */
  ttlDays: number;
}

/** An insert-only mark of a request's progress after its approval (see the store model). */
export interface RequestMark {
  kind: 'claim' | 'failed' | 'delivered' | 'told';
  n?: number | undefined;
  at: Date;
  /** For `told`: what was told (`lapsed`, `collect`). */
  what?: string | undefined;
}
