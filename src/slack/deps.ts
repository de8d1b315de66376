import type { Core } from '../core.js';
import type { Actor } from '../members/member-service.js';
import type { Logger } from '../log.js';
import type { DependentView } from './blocks/dependent.js';

/** The part of `DependentService` the Slack layer uses (`core.dependents`, when present). */
export interface DependentsPort {
  link(
    actor: Actor,
    input: { keyId: string; kind: DependentView['kind']; name: string; url: string },
  ): Promise<{ dependent: DependentView; secret: string; keyRevoked?: boolean }>;
  unlink(actor: Actor, dependentId: string): Promise<unknown>;
  listForKey(actor: Actor, keyId: string): Promise<DependentView[]>;
}

/** What every Slack handler gets: the domain, a logger, and the dependents of keys. */
export interface SlackDeps {
  core: Core;
  log: Logger;
  dependents: DependentsPort;
  /** How long a view submission may wait for the domain before acking with a progress view. */
  ackBudgetMs: number;
}
