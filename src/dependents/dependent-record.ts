/**
 * The domain's records of a dependent (a playbook or CTI connector linked to a key), as the rest
 * of the code sees them. The store maps its documents to these.
 */
import type { DependentKind } from './dependent-kind.js';

export type DependentStatus = 'active' | 'gone' | 'unlinked';

/** A dependent as the rest of the code sees it: never its signing secret. */
export interface DependentRecord {
  communityId: string;
  dependentId: string;
  keyId: string;
  kind: DependentKind;
  name: string;
  webhookUrl: string;
  status: DependentStatus;
  createdBy: string;
  createdAt: Date;
}

/** A position in the walk over dependents: the (createdAt, dependentId) of the last one seen. */
export interface DependentCursor {
  createdAt: Date;
  dependentId: string;
}

/** What the webhook worker alone gets: the record and the secret to sign with. */
export type SigningDependent = DependentRecord & { signingSecret: string };
