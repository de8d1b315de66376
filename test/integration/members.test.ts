import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { captureLogger, openTestMongo, testConfig } from '../support/services.js';

let mongo: Awaited<ReturnType<typeof openTestMongo>>;
let core: Core;

beforeAll(async () => {
  mongo = await openTestMongo('members');
  core = createCore(testConfig({ ADMIN_SLACK_USER_IDS: 'UADMIN1,UADMIN2' }), captureLogger().log, mongo);
});
afterAll(async () => {
  await mongo.drop();
});

describe('member mapping', () => {
  const C = 'T0MEM';
  const a1 = { communityId: C, userId: 'UADMIN1' };
  const a2 = { communityId: C, userId: 'UADMIN2' };

  it('seeds ADMIN_SLACK_USER_IDS as admins of a community on first use', async () => {
    expect(await core.members.roleOf(a1)).toBe('admin');
    const list = await core.members.list(a1);
    expect(list.map((m) => [m.slackUserId, m.role])).toEqual([
      ['UADMIN1', 'admin'],
      ['UADMIN2', 'admin'],
    ]);
  });

  it('adds viewers, changes roles, and refuses viewers managing members', async () => {
    expect((await core.members.set(a1, 'UVIEW', 'viewer', 'viewer@example.com')).change).toBe('added');
    expect(await core.members.roleOf({ communityId: C, userId: 'UVIEW' })).toBe('viewer');
    await expect(core.members.set({ communityId: C, userId: 'UVIEW' }, 'UVIEW', 'admin')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(core.members.remove({ communityId: C, userId: 'UNOBODY' }, 'UADMIN1')).rejects.toMatchObject({ code: 'forbidden' });
    expect(await core.members.roleOf({ communityId: C, userId: 'UVIEW' })).toBe('viewer');
    expect((await core.members.list({ communityId: C, userId: 'UVIEW' })).length).toBe(3);
  });

  it('never removes or demotes the last admin', async () => {
    await core.members.remove(a1, 'UADMIN2');
    await expect(core.members.remove(a1, 'UADMIN1')).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/last admin/) });
    await expect(core.members.set(a1, 'UADMIN1', 'viewer')).rejects.toMatchObject({ code: 'conflict' });
    expect(await core.members.roleOf(a1)).toBe('admin');
  });

  it('two admins removing each other at once leave at least one admin', async () => {
    await core.members.set(a1, 'UADMIN2', 'admin');
    await Promise.allSettled([core.members.remove(a1, 'UADMIN2'), core.members.remove(a2, 'UADMIN1')]);
    const admins = (await core.members.list(a1).catch(() => core.members.list(a2))).filter((m) => m.role === 'admin');
    expect(admins.length).toBeGreaterThanOrEqual(1);
  });

  it('a removed seeded admin stays removed after a restart', async () => {
    const C2 = 'T0SEED';
    await core.members.set({ communityId: C2, userId: 'UADMIN1' }, 'UADMIN2', 'viewer');
    const again = createCore(testConfig({ ADMIN_SLACK_USER_IDS: 'UADMIN1,UADMIN2' }), captureLogger().log, mongo);
    expect(await again.members.roleOf({ communityId: C2, userId: 'UADMIN2' })).toBe('viewer');
  });

  it('keeps communities apart', async () => {
    expect(await core.members.roleOf({ communityId: 'T0ELSE', userId: 'UVIEW' })).toBeUndefined();
  });
});
