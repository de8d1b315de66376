import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { actionIds } from '../ids.js';
import { addKeyAction } from './add-key-button.js';
import { auditPageAction, keyActivityAction } from './audit-buttons.js';
import { approveRequestAction, cancelRequestAction, collectKeyAction, denyRequestAction } from './request-buttons.js';
import { editKeyAction } from './edit-button.js';
import { homeFilterAction } from './home-filter.js';
import { listPageAction } from './list-page-button.js';
import { revokeKeyAction } from './revoke-button.js';
import { revokeManyAction } from './revoke-many-button.js';
import { rollKeyAction } from './roll-button.js';
import { unlinkDependentAction } from './unlink-button.js';

/** Registers every button and select. */
export function register(app: App, deps: SlackDeps): void {
  const page = listPageAction(deps);
  app.action(actionIds.listPrev, page);
  app.action(actionIds.listNext, page);
  app.action(actionIds.editKey, editKeyAction(deps));
  app.action(actionIds.revokeKey, revokeKeyAction(deps));
  app.action(actionIds.revokeKeys, revokeManyAction(deps));
  // Picking a reason changes nothing until Revoke is clicked (which reads it from the state).
  app.action(actionIds.revokeReason, async ({ ack }) => ack());
  app.action(actionIds.rollKey, rollKeyAction(deps));
  app.action(actionIds.addKey, addKeyAction(deps));
  const filter = homeFilterAction(deps);
  app.action(actionIds.homeSearchInput, filter);
  app.action(actionIds.homeSearch, filter);
  app.action(actionIds.homeStatus, filter);
  app.action(actionIds.unlinkDependent, unlinkDependentAction(deps));
  app.action(actionIds.keyActivity, keyActivityAction(deps));
  app.action(actionIds.approveRequest, approveRequestAction(deps));
  app.action(actionIds.denyRequest, denyRequestAction(deps));
  app.action(actionIds.cancelRequest, cancelRequestAction(deps));
  app.action(actionIds.collectKey, collectKeyAction(deps));
  const auditPage = auditPageAction(deps);
  app.action(actionIds.auditPrev, auditPage);
  app.action(actionIds.auditNext, auditPage);
}
