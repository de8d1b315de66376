import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { callbackIds } from '../ids.js';
import { createKeySubmission } from './create-key-submission.js';
import { denySubmission } from './deny-submission.js';
import { requestSubmission } from './request-submission.js';
import { rollKeySubmission } from './roll-key-submission.js';

/** Registers view submissions. */
export function register(app: App, deps: SlackDeps): void {
  app.view(callbackIds.createKey, createKeySubmission(deps));
  app.view(callbackIds.rollKey, rollKeySubmission(deps));
  app.view(callbackIds.requestKey, requestSubmission(deps));
  app.view(callbackIds.denyRequest, denySubmission(deps));
}
