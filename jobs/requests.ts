import type { Job } from 'bullmq';
import type { KeyRequest, RequestStatus } from '../src/requests/request-record.js';
import { requestMessage } from '../src/slack/blocks/requests.js';
import { bold, md, mention, slackDate, truncate } from '../src/slack/blocks/text.js';
import type { JobDeps } from './context.js';
import { ensureDueJob, requestJobId, waitUntilDue, type RequestJobData } from './queues.js';

export type RequestReviewResult = 'lapsed' | 'settled' | 'told_collect' | 'not_due' | 'skipped';

/** Slack errors that retrying cannot fix: the copy is gone or no longer ours to edit. */
const GONE = /message_not_found|channel_not_found|cant_update_message|is_archived|not_in_channel/;

/** Shows the request's current state on every copy. Throws (the job retries) when Slack is away. */
async function updateCopies(deps: JobDeps, req: KeyRequest, st: RequestStatus): Promise<void> {
  const msg = requestMessage(req, (id) => deps.roles.display(id), st);
  for (const m of await deps.requests.messagesOf(req.requestId)) {
    try {
      await deps.slack.chat.update({ channel: m.channel, ts: m.ts, text: msg.text, blocks: msg.blocks });
    } catch (e) {
      if (!GONE.test((e as Error).message)) throw e;
      deps.log.warn({ requestId: req.requestId, err: (e as Error).message }, 'key request copy gone; not updated');
    }
  }
}

/**
 * Tells the requester once (`told:<what>` decides among workers). Best effort: a requester
 * Keywarden cannot reach sees the state in App Home, so a failed DM is logged, not retried.
 */
async function tellOnce(deps: JobDeps, req: KeyRequest, what: string, text: string): Promise<void> {
  if (!(await deps.requests.claimNotice(req, what))) return;
  try {
    const dm = await deps.slack.conversations.open({ users: req.requestedBy });
    if (!dm.channel?.id) throw new Error('conversations.open returned no channel');
    await deps.slack.chat.postMessage({ channel: dm.channel.id, text, blocks: [{ type: 'section', text: md(text) }], unfurl_links: false });
  } catch (e) {
    deps.log.warn({ requestId: req.requestId, what, err: (e as Error).message }, 'requester not told');
  }
}

const name = (req: KeyRequest) => bold(truncate(req.input.name, 64));
const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

/**
 * Looks at one open request and does what is due, idempotently (any number of workers, job
 * runs and scans): an undecided request past its lapse is recorded as lapsed (the decision
 * insert decides against a last-moment approval), every copy updated, the requester told
 * once; an approval whose hand-out died or never started is shown as waiting for the
 * requester, who is told to collect it; an outcome with nothing left to do is settled.
 */
export async function reviewRequest(deps: JobDeps, requestId: string): Promise<RequestReviewResult> {
  const req = await deps.requests.findById(requestId);
  if (!req) return 'skipped';
  let st = await deps.requests.status(req);
  if (st.state === 'pending') return 'not_due';
  if (st.state === 'lapsed' && !st.decision) {
    if (await deps.requests.recordLapse(req)) deps.log.info({ requestId, communityId: req.communityId }, 'key request lapsed');
    st = await deps.requests.status(req);
  }
  switch (st.state) {
    case 'lapsed': {
      const approved = st.decision?.decision === 'approved';
      if (approved && (await deps.requests.retireUncollected(req)))
        deps.log.info({ requestId, communityId: req.communityId, keyId: req.keyId }, 'uncollected key revoked at the end of its collect window');
      await updateCopies(deps, req, st);
      await tellOnce(
        deps,
        req,
        'lapsed',
        approved
          ? `⌛ The approval of your request for ${name(req)} lapsed: the key was not collected within ${days(st.ttlDays)}. Ask again with \`/apikey request\` if you still need it.`
          : `⌛ Your request for ${name(req)} lapsed: no admin decided within ${days(st.ttlDays)}. Ask again with \`/apikey request\` if you still need it.`,
      );
      await deps.requests.settle(req);
      return 'lapsed';
    }
    case 'approved':
      if (st.delivered) break;
      if (!(await deps.requests.stalledApproval(req)) || (await deps.requests.told(req, 'collect'))) return 'not_due';
      await updateCopies(deps, req, st);
      await tellOnce(
        deps,
        req,
        'collect',
        `✅ Your request for ${name(req)} was approved by ${mention(st.decision!.by)}. Open Keywarden's Home tab and press *Collect key* to see its secret — shown once — before ${slackDate(st.collectUntil)}.`,
      );
      return 'told_collect';
    default:
      break;
  }
  await updateCopies(deps, req, st);
  await deps.requests.settle(req);
  return 'settled';
}

/** Runs a request's look; one that runs before its instant of the domain clock waits for it. */
export async function processRequest(job: Job<RequestJobData>, token: string | undefined, deps: JobDeps): Promise<RequestReviewResult> {
  const result = await reviewRequest(deps, job.data.requestId);
  if (result === 'not_due' && token && job.data.dueAt > deps.clock.now()) await waitUntilDue(job, token, job.data.dueAt, deps.clock);
  return result;
}

/** Open requests looked at per pass. */
const BATCH = 500;

/**
 * One pass of the request scan (the net under the delayed jobs): for every request not yet
 * settled whose next look falls before the next two passes, make sure a job exists for that
 * instant (its id carries it, so workers scanning at once schedule it once); a job that
 * failed for good is retried.
 */
export async function scanRequests(deps: JobDeps): Promise<{ scheduled: number }> {
  const now = deps.clock.now();
  const soon = now + 2 * deps.config.SWEEP_INTERVAL_MS;
  const open = await deps.requests.unsettled(BATCH);
  const looks = await deps.requests.nextLooks(open);
  let scheduled = 0;
  for (const r of open) {
    const dueAt = looks.get(r.requestId)!.getTime();
    if (dueAt > soon) continue;
    const data: RequestJobData = { requestId: r.requestId, communityId: r.communityId, dueAt };
    if (await ensureDueJob(deps.queues.requests, requestJobId(data), dueAt - now, (opts) => deps.queues.requests.add('request', data, opts))) scheduled++;
  }
  return { scheduled };
}
