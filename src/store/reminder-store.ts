import { Schema, type Connection, type Model } from 'mongoose';
import type { ReminderId } from '../keys/key-life.js';

/**
 * One document per key and reminder, `_id` = `<keyId>:<reminder>`, inserted by the one
 * worker that sends it: an insert into the unique `_id` is serialised by every
 * MongoDB-compatible server (FerretDB v1 included), so of any number of workers, job runs
 * and sweeps exactly one wins.
 */
interface KeyReminderDoc {
  _id: string;
  keyId: string;
  reminder: string;
  claimedAt: Date;
}

const keyReminderSchema = new Schema<KeyReminderDoc>(
  {
    _id: { type: String, required: true },
    keyId: { type: String, required: true },
    reminder: { type: String, required: true },
    claimedAt: { type: Date, required: true },
  },
  { collection: 'key_reminders', versionKey: false, autoIndex: false },
);
keyReminderSchema.index({ keyId: 1 });

const keyReminderModel = (conn: Connection): Model<KeyReminderDoc> =>
  (conn.models.KeyReminder as Model<KeyReminderDoc> | undefined) ?? conn.model<KeyReminderDoc>('KeyReminder', keyReminderSchema);

export const reminderRecordId = (keyId: string, reminder: ReminderId) => `${keyId}:${reminder}`;

export class ReminderStore {
  private readonly m: Model<KeyReminderDoc>;
  constructor(conn: Connection) {
    this.m = keyReminderModel(conn);
  }

  async init(): Promise<void> {
    await this.m.createIndexes();
  }

  /** True for exactly one caller per key and reminder. */
  async claim(keyId: string, reminder: ReminderId, at: Date): Promise<boolean> {
    try {
      await this.m.create({ _id: reminderRecordId(keyId, reminder), keyId, reminder, claimedAt: at });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === 11000) return false;
      throw e;
    }
  }

  /** Gives a claim back when nothing could be posted, so that a retry may send it. */
  async release(keyId: string, reminder: ReminderId): Promise<void> {
    await this.m.deleteOne({ _id: reminderRecordId(keyId, reminder) });
  }

  /** The `<keyId>:<reminder>` ids already claimed among these keys. */
  async claimedFor(keyIds: string[]): Promise<Set<string>> {
    if (keyIds.length === 0) return new Set();
    const rows = await this.m.find({ keyId: { $in: keyIds } }, { _id: 1 }).lean();
    return new Set(rows.map((r) => r._id));
  }
}
