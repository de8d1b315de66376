import type { WebClient } from '@slack/web-api';
import type { KeyRequest, RequestStatus } from '../requests/request-record.js';
import { requestMessage } from './blocks/requests.js';
import type { SlackDeps } from './deps.js';

const render = (deps: SlackDeps, req: KeyRequest, st: RequestStatus) => requestMessage(req, (id) => deps.core.roles.display(id), st);

/** Posts a new request to APPROVALS_CHANNEL_ID, else to each admin by DM; records every copy. */
export async function postRequest(deps: SlackDeps, client: WebClient, req: KeyRequest): Promise<number> {
  const msg = render(deps, req, await deps.core.requests.status(req));
  const channel = deps.core.config.APPROVALS_CHANNEL_ID;
  const targets: Array<() => Promise<string | undefined>> = channel
    ? [async () => channel]
    : (await deps.core.requests.admins(req.communityId)).map((u) => async () => (await client.conversations.open({ users: u })).channel?.id);
  let posted = 0;
  for (const target of targets) {
    try {
      const ch = await target();
      if (!ch) continue;
      const res = await client.chat.postMessage({ channel: ch, text: msg.text, blocks: msg.blocks, unfurl_links: false });
      if (res.ts) await deps.core.requests.addMessage(req.requestId, res.channel ?? ch, res.ts);
      posted++;
    } catch (e) {
      deps.log.warn({ requestId: req.requestId, err: (e as Error).message }, 'key request not posted');
    }
  }
  return posted;
}

/** Every copy of the request shows where it stands now (no buttons left once decided). */
export async function updateCopies(deps: SlackDeps, client: WebClient, req: KeyRequest): Promise<void> {
  const msg = render(deps, req, await deps.core.requests.status(req));
  for (const m of await deps.core.requests.messagesOf(req.requestId)) {
    try {
      await client.chat.update({ channel: m.channel, ts: m.ts, text: msg.text, blocks: msg.blocks });
    } catch (e) {
      deps.log.warn({ requestId: req.requestId, err: (e as Error).message }, 'key request copy not updated');
    }
  }
}

/** A note to the requester's DM (never a secret: this message stays in history). */
export async function tellRequester(deps: SlackDeps, client: WebClient, userId: string, text: string): Promise<void> {
  try {
    const dm = await client.conversations.open({ users: userId });
    if (dm.channel?.id) await client.chat.postMessage({ channel: dm.channel.id, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  } catch (e) {
    deps.log.warn({ err: (e as Error).message }, 'requester not told');
  }
}
