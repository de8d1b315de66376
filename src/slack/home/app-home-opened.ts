import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { parseListState } from '../list-state.js';
import { homeActor, homeOpenedPayload } from '../payloads.js';
import { publishHome } from './publish-home.js';

/** `app_home_opened` on the Home tab: publish the list, keeping the filter the user left. */
export function appHomeOpened(deps: SlackDeps) {
  return async ({ body, client }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    const payload = homeOpenedPayload.parse(body);
    if (payload.event.tab && payload.event.tab !== 'home') return;
    const state = parseListState(payload.event.view?.private_metadata);
    await publishHome(deps, client, homeActor(payload), { s: state.s, q: state.q });
  };
}
