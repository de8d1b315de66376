import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { dependentKinds } from '../../dependents/dependent-kind.js';

export const dependentSchema = new Schema(
  {
    communityId: { type: String, required: true },
    dependentId: { type: String, required: true },
    keyId: { type: String, required: true },
    kind: { type: String, enum: dependentKinds, required: true },
    name: { type: String, required: true },
    webhookUrl: { type: String, required: true },
    /**
     * The webhook signing secret (`whsec_…`). It must be kept to sign, so unlike tokens it
     * cannot be hashed; it never leaves the server after it was shown once.
     */
    signingSecret: { type: String, required: true },
    /** `active`, or `gone` once the receiver answered 410, or `unlinked` by an admin. */
    status: { type: String, enum: ['active', 'gone', 'unlinked'], required: true, default: 'active' },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'dependents', versionKey: false, autoIndex: false },
);
dependentSchema.index({ dependentId: 1 }, { unique: true });
dependentSchema.index({ communityId: 1, keyId: 1, status: 1 });
// The sweeper's walk (dependents linked while their key was being revoked).
dependentSchema.index({ createdAt: 1, dependentId: 1 });

export type DependentDoc = InferSchemaType<typeof dependentSchema>;
export const dependentModel = (conn: Connection): Model<DependentDoc> =>
  (conn.models.Dependent as Model<DependentDoc> | undefined) ?? conn.model<DependentDoc>('Dependent', dependentSchema);
