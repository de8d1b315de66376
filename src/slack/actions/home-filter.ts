import { listStatuses, type ListStatus } from '../../keys/key-service.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { publishHome } from '../home/publish-home.js';
import { actionIds, blockIds } from '../ids.js';
import { parseListState } from '../list-state.js';
import { selectValue, textValue } from '../payloads.js';
import { parseAction, type ActionArgs } from './context.js';

const isStatus = (s: string | undefined): s is ListStatus => (listStatuses as readonly string[]).includes(s ?? '');

/** Home search box (Enter), Search button and status select: re-render from page one. */
export function homeFilterAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const view = body.view;
    const before = parseListState(view?.private_metadata);
    // An emptied search box arrives as null: that clears the search, it does not keep the old one.
    const hasBox = Boolean(view?.state?.values[blockIds.homeSearch]?.[actionIds.homeSearchInput]);
    const typed =
      action.action_id === actionIds.homeSearchInput
        ? (action.value ?? '')
        : view && hasBox
          ? (textValue(view, blockIds.homeSearch, actionIds.homeSearchInput) ?? '')
          : undefined;
    const picked =
      action.action_id === actionIds.homeStatus ? action.selected_option?.value : view && selectValue(view, blockIds.homeControls, actionIds.homeStatus);
    const state = { s: isStatus(picked) ? picked : before.s, q: (typed ?? before.q).trim().slice(0, 500) };
    try {
      await publishHome(deps, client, actor, state);
    } catch (e) {
      await explainToClicker({ body, client }, expectedFailure(e));
    }
  };
}
