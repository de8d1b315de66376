import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

export const memberSchema = new Schema(
  {
    communityId: { type: String, required: true },
    slackUserId: { type: String, required: true },
    role: { type: String, enum: ['admin', 'viewer'], required: true },
    /** The platform identity this Slack user acts as (e.g. the platform login), when known. */
    platformIdentity: String,
    addedBy: { type: String, required: true },
    addedAt: { type: Date, required: true },
  },
  { collection: 'members', versionKey: false, autoIndex: false },
);
memberSchema.index({ communityId: 1, slackUserId: 1 }, { unique: true });
memberSchema.index({ communityId: 1, role: 1 });

/** Which ADMIN_SLACK_USER_IDS were already seeded into a community (so a removal sticks). */
export const communitySchema = new Schema(
  {
    communityId: { type: String, required: true },
    seededAdmins: { type: [String], default: [] },
  },
  { collection: 'communities', versionKey: false, autoIndex: false },
);
communitySchema.index({ communityId: 1 }, { unique: true });

export type MemberDoc = InferSchemaType<typeof memberSchema>;
export type CommunityDoc = InferSchemaType<typeof communitySchema>;
export const memberModel = (conn: Connection): Model<MemberDoc> =>
  (conn.models.Member as Model<MemberDoc> | undefined) ?? conn.model<MemberDoc>('Member', memberSchema);
export const communityModel = (conn: Connection): Model<CommunityDoc> =>
  (conn.models.Community as Model<CommunityDoc> | undefined) ?? conn.model<CommunityDoc>('Community', communitySchema);
