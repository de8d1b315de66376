import type { Models } from './mongo.js';

/**
 * Every community this database knows of: named by a community record (seeded admins), a
 * member or a key. The break-glass CLI uses it to pick the one community when not told.
 */
export async function knownCommunities(m: Models): Promise<string[]> {
  const [seeded, members, keys] = await Promise.all([
    m.communities.distinct('communityId'),
    m.members.distinct('communityId'),
    m.apiKeys.distinct('communityId'),
  ]);
  return [...new Set([...seeded, ...members, ...keys].map(String))].sort();
}
