import type { Job } from 'bullmq';
import { DAY_MS, REMINDERS, type ReminderId } from '../src/keys/key-life.js';
import type { KeyRecord } from '../src/keys/key-record.js';
import type { JobDeps } from './context.js';
import { enqueueRevocation, ensureDueJob, lifeJobId, waitUntilDue, type LifeJobData } from './queues.js';
import { renderReminder } from './reminder.js';
import { scanRequests } from './requests.js';
import { ensureRollFanouts } from './rolls.js';

export type LifeResult = 'expired' | 'sent' | 'not_due' | 'skipped' | 'already';

/**
 * A key reached its expiry instant: announce it once, through the revocation pipeline
 * (event `expired`: same deliveries, retries, SSRF guard, sweeper, webhook ids, notice).
 * The audit event's deterministic id decides; every caller then makes sure the key's
 * notification is pending (the winner may have died between the two writes) and its job
 * exists (its id dedupes). A revoked key is not announced again.
 */
export async function expireKey(deps: JobDeps, keyId: string): Promise<LifeResult> {
  const key = await deps.keyRepo.findByKeyId(keyId);
  if (!key?.expiresAt || key.status === 'revoked') return 'skipped';
  const now = deps.clock.now();
  if (key.expiresAt.getTime() > now) return 'not_due';
  if (key.notification.state === 'done') return 'already';
  if (key.notification.state === 'none') {
    const won = await deps.audit.recordOnce(`key.expired:${key.communityId}:${keyId}`, {
      communityId: key.communityId,
      actor: 'keywarden',
      action: 'key.expired',
      target: keyId,
      details: { name: key.name, expiresAt: key.expiresAt.toISOString() },
      at: key.expiresAt,
    });
    await deps.keyRepo.markExpired(keyId, new Date(now));
    if (won) deps.log.info({ keyId, communityId: key.communityId, expiresAt: key.expiresAt, lateMs: now - key.expiresAt.getTime() }, 'api key expired');
  }
  const after = await deps.keyRepo.findByKeyId(keyId);
  if (after?.notification.event !== 'expired' || after.notification.state === 'done') return 'already';
  await enqueueRevocation(deps.queues.revocations, after);
  await deps.notifications.markEnqueued(keyId);
  return 'expired';
}

const beforeOf = (r: ReminderId) => REMINDERS.find((x) => x.id === r)!.beforeMs;

/** Why a reminder is not sent now: it is not due, or it no longer applies. */
function reminderState(key: KeyRecord, r: ReminderId, now: number): 'due' | 'not_due' | 'skipped' {
  if (!key.expiresAt || key.status !== 'active' || key.notification.state !== 'none') return 'skipped';
  const exp = key.expiresAt.getTime();
  const due = exp - beforeOf(r);
  if (now >= exp) return 'skipped';
  // A key created inside the window (a date 3 days out) gets no 7-day reminder.
  if (due < key.createdAt.getTime()) return 'skipped';
  if (now < due) return 'not_due';
  // Everything was stopped past a later reminder's instant: send that one, not both.
  if (REMINDERS.some((x) => x.beforeMs < beforeOf(r) && exp - x.beforeMs <= now)) return 'skipped';
  return 'due';
}

/**
 * Sends one reminder to the key's creator (DM) and NOTIFY_CHANNEL_ID, exactly once: the
 * insert of `<keyId>:<reminder>` decides who sends. If nothing could be posted (Slack
 * down), the claim is given back and the job fails, so a retry sends it.
 */
export async function sendReminder(deps: JobDeps, keyId: string, reminder: ReminderId): Promise<LifeResult> {
  const key = await deps.keyRepo.findByKeyId(keyId);
  if (!key) return 'skipped';
  const now = deps.clock.now();
  const state = reminderState(key, reminder, now);
  if (state !== 'due') return state;
  if (!(await deps.reminders.claim(keyId, reminder, new Date(now)))) return 'already';
  const message = renderReminder(key, reminder, now);
  const targets: Array<() => Promise<string | undefined>> = [async () => (await deps.slack.conversations.open({ users: key.createdBy })).channel?.id];
  if (deps.config.NOTIFY_CHANNEL_ID) targets.push(async () => deps.config.NOTIFY_CHANNEL_ID);
  let posted = 0;
  for (const target of targets) {
    try {
      const channel = await target();
      if (!channel) continue;
      await deps.slack.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false });
      posted++;
    } catch (e) {
      deps.log.warn({ keyId, reminder, err: (e as Error).message }, 'expiry reminder not posted');
    }
  }
  if (posted === 0) {
    await deps.reminders.release(keyId, reminder);
    throw new Error('no expiry reminder could be posted; will retry');
  }
  // Once per key and reminder (the claim above decided), so a plain insert is enough.
  await deps.audit.record({
    communityId: key.communityId,
    actor: 'keywarden',
    action: 'key.reminded',
    target: keyId,
    details: { name: key.name, reminder },
    at: new Date(now),
  });
  deps.log.info({ keyId, reminder, lateMs: now - (key.expiresAt!.getTime() - beforeOf(reminder)) }, 'expiry reminder sent');
  return 'sent';
}

/**
 * Runs a due expiry or reminder. A job that runs before its instant of the domain clock
 * (the clock was set back, or Redis's timer ran early) is put back to wait for it.
 */
export async function processLife(job: Job<LifeJobData>, token: string | undefined, deps: JobDeps): Promise<LifeResult> {
  const { keyId, kind, reminder } = job.data;
  const result = kind === 'expiry' ? await expireKey(deps, keyId) : await sendReminder(deps, keyId, reminder ?? '7d');
  if (result === 'not_due' && token) {
    const key = await deps.keyRepo.findByKeyId(keyId);
    const due = (key?.expiresAt?.getTime() ?? 0) - (kind === 'reminder' ? beforeOf(reminder ?? '7d') : 0);
    await waitUntilDue(job, token, due, deps.clock);
  }
  return result;
}

/** Keys scanned per pass. */
const BATCH = 500;

/**
 * One pass of the life scan: for every active key whose expiry or a reminder falls before
 * the next two passes (or has passed, e.g. while everything was stopped), make sure a job
 * exists for it, delayed to the exact instant. Job ids are deterministic, so any number of
 * workers scanning at once schedule each once; a job that failed for good is retried.
 */
export async function scanLife(deps: JobDeps): Promise<{ scheduled: number }> {
  const now = deps.clock.now();
  const soon = now + 2 * deps.config.SWEEP_INTERVAL_MS;
  const keys = await deps.keyRepo.expiringBefore(new Date(soon + 7 * DAY_MS), BATCH);
  const claimed = await deps.reminders.claimedFor(keys.map((k) => k.keyId));
  const wanted: Array<{ data: LifeJobData; dueAt: number }> = [];
  for (const key of keys) {
    const exp = key.expiresAt!.getTime();
    for (const r of REMINDERS) {
      const dueAt = exp - r.beforeMs;
      if (claimed.has(`${key.keyId}:${r.id}`) || dueAt > soon) continue;
      if (reminderState(key, r.id, Math.max(now, dueAt)) !== 'due') continue;
      wanted.push({ data: { keyId: key.keyId, communityId: key.communityId, kind: 'reminder', reminder: r.id }, dueAt });
    }
    if (exp <= soon) wanted.push({ data: { keyId: key.keyId, communityId: key.communityId, kind: 'expiry' }, dueAt: exp });
  }
  let scheduled = 0;
  for (const { data, dueAt } of wanted)
    if (await ensureDueJob(deps.queues.life, lifeJobId(data), dueAt - now, (opts) => deps.queues.life.add('life', data, opts))) scheduled++;
  return { scheduled };
}

/** Runs {@link scanLife} (and the request scan, {@link scanRequests}) at start and every SWEEP_INTERVAL_MS (±10%); errors wait for the next pass. */
export function startLifeScanner(deps: JobDeps): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = scanLife(deps)
      .then(async (r) => {
        const rolls = await ensureRollFanouts(deps);
        const requests = (await scanRequests(deps)).scheduled;
        if (r.scheduled || rolls || requests)
          deps.log.info({ ...r, rolls, requests }, 'life scan scheduled expiries, reminders, roll fan-outs or request looks');
      })
      .catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'life scan failed; will try again'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, Math.round(deps.config.SWEEP_INTERVAL_MS * (0.9 + 0.2 * Math.random())));
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
