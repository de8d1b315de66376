import type { HomeView, KnownBlock, PlainTextOption } from '@slack/types';
import type { ListPage } from '../../keys/key-record.js';
import { actionIds, blockIds, callbackIds } from '../ids.js';
import { encodeListState, type ListState } from '../list-state.js';
import { addKeyButton, keyListBlocks } from './key-list.js';
import { button, limits, md, plain, truncate } from './text.js';

const statusOptions: Record<ListState['s'], PlainTextOption> = {
  active: { text: plain('Active'), value: 'active' },
  expired: { text: plain('Expired'), value: 'expired' },
  revoked: { text: plain('Revoked'), value: 'revoked' },
  all: { text: plain('All'), value: 'all' },
};

/** The Home tab, "Settings > Workspace > API Keys": search, filter, list, paging, `+ API key`. */
export function homeView(opts: { page: ListPage; state: ListState; isAdmin: boolean; now: number; requests?: KnownBlock[] }): HomeView {
  const { state, isAdmin } = opts;
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain('API Keys') },
    { type: 'context', elements: [md('Settings › Workspace › API Keys — every secret is shown once; revoking is final.')] },
    {
      type: 'input',
      block_id: blockIds.homeSearch,
      dispatch_action: true,
      optional: true,
      label: plain('Search'),
      element: {
        type: 'plain_text_input',
        action_id: actionIds.homeSearchInput,
        placeholder: plain('Name, description or keyId — press Enter'),
        dispatch_action_config: { trigger_actions_on: ['on_enter_pressed'] },
        ...(state.q ? { initial_value: truncate(state.q, 500) } : {}),
      },
    },
    {
      type: 'actions',
      block_id: blockIds.homeControls,
      elements: [
        {
          type: 'static_select',
          action_id: actionIds.homeStatus,
          placeholder: plain('Status'),
          options: Object.values(statusOptions),
          initial_option: statusOptions[state.s],
        },
        button({ actionId: actionIds.homeSearch, text: 'Search' }),
        ...(isAdmin ? [addKeyButton()] : []),
      ],
    },
    // Key requests (pending ones for admins, one's own) before the list: at most 5 + 5 rows.
    ...(opts.requests ?? []),
    ...keyListBlocks({ page: opts.page, state, isAdmin, surface: 'home', now: opts.now }),
  ];
  return {
    type: 'home',
    callback_id: callbackIds.home,
    private_metadata: encodeListState(state, limits.privateMetadata),
    blocks: blocks.slice(0, limits.viewBlocks),
  };
}

/** Home for someone who is not mapped: what Keywarden is and whom to ask. */
export function homeNotMemberView(reason: string, requests: KnownBlock[] = []): HomeView {
  return {
    type: 'home',
    callback_id: callbackIds.home,
    blocks: [{ type: 'header', text: plain('API Keys') }, { type: 'section', text: md(reason) }, ...requests].slice(0, limits.viewBlocks),
  };
}
