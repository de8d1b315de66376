import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

const attemptSchema = new Schema({ at: Date, status: Number, error: String, durationMs: Number }, { _id: false });

/** One per (revocation, dependent). */
export const deliverySchema = new Schema(
  {
    communityId: { type: String, required: true },
    deliveryId: { type: String, required: true },
    keyId: { type: String, required: true },
    dependentId: { type: String, required: true },
    dependentName: { type: String, required: true },
    state: { type: String, enum: ['pending', 'delivered', 'failed', 'gone'], required: true, default: 'pending' },
    attempts: { type: [attemptSchema], default: [] },
    lastStatus: Number,
    lastError: String,
    deliveredAt: Date,
    createdAt: { type: Date, required: true },
  },
  { collection: 'deliveries', versionKey: false, autoIndex: false },
);
deliverySchema.index({ deliveryId: 1 }, { unique: true });
deliverySchema.index({ keyId: 1, state: 1 });

export type DeliveryDoc = InferSchemaType<typeof deliverySchema>;
export const deliveryModel = (conn: Connection): Model<DeliveryDoc> =>
  (conn.models.Delivery as Model<DeliveryDoc> | undefined) ?? conn.model<DeliveryDoc>('Delivery', deliverySchema);
