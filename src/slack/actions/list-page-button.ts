import { keyListBlocks, keyListText } from '../blocks/key-list.js';
import type { SlackDeps } from '../deps.js';
import { expectedFailure, explainToClicker } from '../explain.js';
import { publishHome } from '../home/publish-home.js';
import { listOptionsOf, parseListState } from '../list-state.js';
import { fromHome, parseAction, type ActionArgs } from './context.js';

/** Previous/Next: the same filter and search, one page further, on the surface clicked. */
export function listPageAction(deps: SlackDeps) {
  return async ({ ack, body: raw, client, respond }: ActionArgs): Promise<void> => {
    await ack();
    const { body, actor, action } = parseAction(raw);
    const state = parseListState(action.value);
    try {
      if (fromHome(body)) return await publishHome(deps, client, actor, state);
      const page = await deps.core.keys.list(actor, listOptionsOf(state));
      await respond({
        replace_original: true,
        text: keyListText(page, state),
        blocks: keyListBlocks({ page, state, isAdmin: page.viewerRole === 'admin', surface: 'message', now: deps.core.clock.now() }),
      });
    } catch (e) {
      await explainToClicker({ body, client, respond }, expectedFailure(e));
    }
  };
}
