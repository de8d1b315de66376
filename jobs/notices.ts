import { countDeliveries, type DeliveryRecord } from '../src/dependents/delivery-record.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import type { JobDeps } from './context.js';
import { renderNotice } from './notice.js';
import type { NoticeRef } from '../src/store/notification-store.js';

/**
 * Posts the revocation notice to NOTIFY_CHANNEL_ID (when set) and DMs the key's creator,
 * once per revocation (claimed in MongoDB), and keeps where each went for `chat.update` as
 * soon as it is posted. A worker dying between a post and its record loses that notice's
 * updates (it is never posted twice); the claim is what prevents a second notice.
 * Slack being down must not hold up the webhooks: failures are logged, the claim released
 * so a later run of the job may try again, and nothing is thrown. `known`: the deliveries
 * as the caller knows them now (a first fan-out knows them all), instead of reading them.
 */
export async function postNotices(deps: JobDeps, key: KeyRecord, deliveries: DeliveryRecord[], known?: () => DeliveryRecord[]): Promise<void> {
  const { slack, notifications, config, log } = deps;
  if (!(await notifications.claimNotices(key.keyId))) return;
  const message = renderNotice(key, deliveries);
  const posted: NoticeRef[] = [];
  const targets: Array<() => Promise<string | undefined>> = [];
  if (config.NOTIFY_CHANNEL_ID) targets.push(async () => config.NOTIFY_CHANNEL_ID);
  targets.push(async () => (await slack.conversations.open({ users: key.createdBy })).channel?.id);
  for (const target of targets) {
    try {
      const channel = await target();
      if (!channel) continue;
      const res = await slack.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false });
      if (res.ts && res.channel) {
        const ref = { channel: res.channel, ts: res.ts };
        await notifications.addNotice(key.keyId, ref);
        posted.push(ref);
      }
    } catch (e) {
      log.warn({ keyId: key.keyId, err: (e as Error).message }, 'revocation notice not posted');
    }
  }
  if (posted.length === 0) {
    await notifications.releaseNotices(key.keyId);
    return;
  }
  // Deliveries that finished while the notice was being posted found nothing to update.
  // `known`: the fan-out's own view of them (no read: by keyId, a scan on FerretDB).
  const now = known ? known() : await deps.deliveries.forKey(key.keyId);
  if (now.some((d) => d.state !== 'pending')) await refreshNotices(deps, key.keyId, known ? now : undefined);
}

/** Re-renders the notices from MongoDB's current state (or the deliveries just read) and `chat.update`s them. */
export async function refreshNotices(deps: JobDeps, keyId: string, read?: DeliveryRecord[]): Promise<void> {
  const refs = await deps.notifications.notices(keyId);
  if (refs.length === 0) return;
  const [key, deliveries] = await Promise.all([deps.keyRepo.findByKeyId(keyId), read ?? deps.deliveries.forKey(keyId)]);
  if (!key) return;
  const message = renderNotice(key, deliveries);
  for (const ref of refs) {
    try {
      await deps.slack.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks });
    } catch (e) {
      deps.log.warn({ keyId, channel: ref.channel, err: (e as Error).message }, 'revocation notice not updated');
    }
  }
}

/** Above this many dependents, single successes no longer update the notice (Slack rate limits). */
const UPDATE_EVERY_SUCCESS_UP_TO = 20;

/**
 * After deliveries became final (or to check whether all are): recounts from MongoDB,
 * finishes the notification when nothing is pending, and updates the Slack notice. A
 * failure or a 410 always updates it; so does the end; single successes only for small
 * fan-outs. Counts are written to the key once, at the end (KeyRepository.finishNotification).
 */
export async function advanceNotification(deps: JobDeps, keyId: string, changed?: DeliveryRecord['state'], known?: DeliveryRecord[]): Promise<void> {
  // One read serves the count and, at the end, the notice (each read by keyId is a scan on
  // FerretDB); none when the caller knows every delivery (`known`: a fan-out's first run).
  const deliveries = known ?? (await deps.deliveries.forKey(keyId));
  const counts = countDeliveries(deliveries);
  if (counts.pending === 0) {
    if (await deps.notifications.finish(keyId, counts)) {
      deps.log.info({ keyId, ...counts }, 'revocation notification done');
      await refreshNotices(deps, keyId, deliveries);
    }
    return;
  }
  if (changed && (changed !== 'delivered' || counts.total <= UPDATE_EVERY_SUCCESS_UP_TO)) {
    await deps.noticeUpdates.request(keyId, () => refreshNotices(deps, keyId));
  }
}

/**
 * Spaces out the updates of one notice while deliveries are under way (Slack allows about
 * one `chat.update` per second and channel): the first runs at once, later ones within the
 * interval fold into one at its end, which renders whatever MongoDB holds by then. The
 * final update, when all deliveries are done, never waits.
 */
export class NoticeUpdates {
  private readonly last = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly intervalMs = 3_000) {}

  request(keyId: string, refresh: () => Promise<void>): Promise<void> {
    if (this.timers.has(keyId)) return Promise.resolve();
    const now = Date.now();
    const wait = (this.last.get(keyId) ?? 0) + this.intervalMs - now;
    if (wait <= 0) {
      this.remember(keyId, now);
      return refresh();
    }
    const timer = setTimeout(() => {
      this.timers.delete(keyId);
      this.remember(keyId, Date.now());
      void refresh().catch(() => undefined);
    }, wait);
    timer.unref();
    this.timers.set(keyId, timer);
    return Promise.resolve();
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private remember(keyId: string, at: number): void {
    this.last.set(keyId, at);
    if (this.last.size > 10_000) {
      for (const [k, t] of this.last) if (at - t > this.intervalMs) this.last.delete(k);
    }
  }
}
