import type { App, BlockAction } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { actionIds } from '../ids.js';
import type { ActionArgs } from './context.js';
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

/**
 * Registers every button and select as one Bolt listener that dispatches on `action_id`.
 * Bolt runs every registered listener's matchers for every request it receives, slash
 * commands included: 19 listeners here cost each request 19 middleware chains, which was
 * the largest share of Bolt's own time per `/apikey` under load (`npm run bench -- slack-ack`).
 */
export function register(app: App, deps: SlackDeps): void {
  const page = listPageAction(deps);
  const filter = homeFilterAction(deps);
  const auditPage = auditPageAction(deps);
  const handlers = new Map<string, (args: ActionArgs) => Promise<void>>([
    [actionIds.listPrev, page],
    [actionIds.listNext, page],
    [actionIds.editKey, editKeyAction(deps)],
    [actionIds.revokeKey, revokeKeyAction(deps)],
    [actionIds.revokeKeys, revokeManyAction(deps)],
    // Picking a reason changes nothing until Revoke is clicked (which reads it from the state).
    [actionIds.revokeReason, async ({ ack }) => ack()],
    [actionIds.rollKey, rollKeyAction(deps)],
    [actionIds.addKey, addKeyAction(deps)],
    [actionIds.homeSearchInput, filter],
    [actionIds.homeSearch, filter],
    [actionIds.homeStatus, filter],
    [actionIds.unlinkDependent, unlinkDependentAction(deps)],
    [actionIds.keyActivity, keyActivityAction(deps)],
    [actionIds.approveRequest, approveRequestAction(deps)],
    [actionIds.denyRequest, denyRequestAction(deps)],
    [actionIds.cancelRequest, cancelRequestAction(deps)],
    [actionIds.collectKey, collectKeyAction(deps)],
    [actionIds.auditPrev, auditPage],
    [actionIds.auditNext, auditPage],
  ]);
  // Exactly these ids: any other action stays unhandled, as Bolt reports it.
  const ours = new RegExp(`^(?:${[...handlers.keys()].map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
  app.action<BlockAction>({ type: 'block_actions', action_id: ours }, (args) => handlers.get(args.action.action_id)!(args));
}
