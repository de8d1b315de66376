import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { leakGuard } from './leak-guard.js';

/** Registers the message events of the leak guard, when LEAK_GUARD is on (else none are listened to). */
export function register(app: App, deps: SlackDeps): void {
  if (deps.core.config.LEAK_GUARD) app.event('message', leakGuard(deps));
}
