import { keyListBlocks, keyListText } from '../blocks/key-list.js';
import { listOptionsOf, type ListState } from '../list-state.js';
import type { CommandContext } from './context.js';

/** `/apikey list [status] [search…]`: the first page, ephemerally. */
export async function listCommand(ctx: CommandContext, state: ListState): Promise<void> {
  const { core } = ctx.deps;
  const page = await core.keys.list(ctx.actor, listOptionsOf(state));
  await ctx.reply({
    text: keyListText(page, state),
    blocks: keyListBlocks({ page, state, isAdmin: page.viewerRole === 'admin', surface: 'message', now: core.clock.now() }),
  });
}
