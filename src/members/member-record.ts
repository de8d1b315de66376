export type MemberRole = 'admin' | 'viewer';

/** A Slack user mapped to the platform, with a role in one community. */
export interface Member {
  communityId: string;
  slackUserId: string;
  role: MemberRole;
  platformIdentity?: string;
  addedBy: string;
  addedAt: Date;
}
