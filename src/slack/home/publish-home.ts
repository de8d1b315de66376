import type { WebClient } from '@slack/web-api';
import type { Actor } from '../../members/member-service.js';
import { homeNotMemberView, homeView } from '../blocks/home.js';
import { homeRequestBlocks } from '../blocks/requests.js';
import type { SlackDeps } from '../deps.js';
import { listOptionsOf, type ListState } from '../list-state.js';

/** Renders the Home tab for one user with the given list state and publishes it. */
export async function publishHome(deps: SlackDeps, client: WebClient, actor: Actor, state: ListState): Promise<void> {
  const role = await deps.core.members.roleOf(actor);
  const mine = await deps.core.requests.mine(actor, 5);
  const view = role
    ? homeView({
        page: await deps.core.keys.list(actor, listOptionsOf(state)),
        state,
        isAdmin: role === 'admin',
        now: deps.core.clock.now(),
        requests: homeRequestBlocks(await deps.core.requests.pending(actor, 5), mine),
      })
    : homeNotMemberView(
        'You are not mapped to a platform identity, so you cannot see API keys. Ask a Keywarden admin to add you with `/apikey members add @you viewer`.',
        // With REQUESTS_OPEN_TO_ALL, someone unmapped may have asked for a key: their requests (and Collect key).
        homeRequestBlocks([], mine),
      );
  await client.views.publish({ user_id: actor.userId, view });
}

/**
 * Refreshes a user's Home after they created or revoked a key. Best effort: the change is
 * done and the user was already told, so a failure here is only logged.
 */
export async function refreshHome(deps: SlackDeps, client: WebClient, actor: Actor, state: ListState): Promise<void> {
  try {
    await publishHome(deps, client, actor, { s: state.s, q: state.q });
  } catch (e) {
    deps.log.warn({ userId: actor.userId, err: (e as Error).message }, 'could not refresh the Home tab');
  }
}
