import type { InputBlock, KnownBlock, ModalView } from '@slack/types';
import type { RoleCatalog } from '../../roles/catalog.js';
import type { KeyRequest, RequestState, RequestStatus } from '../../requests/request-record.js';
import { actionIds, blockIds, callbackIds } from '../ids.js';
import { createKeyModal } from './create-modal.js';
import type { Reply } from './messages.js';
import { bold, button, code, confirmDialog, escapeMrkdwn, fitJson, limits, md, mention, plain, slackDate, truncate } from './text.js';

/** `/apikey request`: the create form plus "Why do you need it?". */
export function requestModal(catalog: RoleCatalog, name: string): ModalView {
  const base = createKeyModal({ catalog, name });
  const why: InputBlock = {
    type: 'input',
    block_id: blockIds.why,
    label: plain('Why do you need it?'),
    hint: plain('10–500 characters. The admins see this with your request.'),
    element: { type: 'plain_text_input', action_id: actionIds.whyInput, multiline: true, min_length: 10, max_length: 500 },
  };
  const fields = (base.blocks as KnownBlock[]).filter((b) => b.type === 'input');
  return {
    ...base,
    callback_id: callbackIds.requestKey,
    title: plain('Request an API key', limits.viewTitle),
    submit: plain('Send request', limits.viewTitle),
    blocks: [
      ...fields,
      why,
      {
        type: 'context',
        elements: [md(':lock: An admin approves or denies it. If approved, the key is shown *only once*, to you, in a direct message from Keywarden.')],
      },
    ],
  };
}

const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

/** The outcome line of every copy of a request. */
export function stateLine(req: KeyRequest, st: RequestStatus): string {
  const d = st.decision;
  switch (st.state) {
    case 'approved':
      return st.keyCreated
        ? `✅ Approved by ${mention(d!.by)} — ${code(req.keyId)}`
        : `✅ Approved by ${mention(d!.by)} — waiting for ${mention(req.requestedBy)} to collect`;
    case 'denied':
      return `⛔ Denied by ${mention(d!.by)}${d?.reason ? ` — ${escapeMrkdwn(truncate(d.reason, 500))}` : ''}`;
    case 'cancelled':
      return '↩️ Cancelled by the requester';
    case 'lapsed':
      return d?.decision === 'approved'
        ? `⌛ Lapsed — approved by ${mention(d.by)}, but not collected within ${days(st.ttlDays)}`
        : `⌛ Lapsed — no admin decided within ${days(st.ttlDays)}`;
    default:
      return '';
  }
}

/** The request as admins see it: who, the fields, why; Approve/Deny while pending, else the outcome. */
export function requestMessage(req: KeyRequest, roleLabel: (id: string) => string, st: RequestStatus): Reply {
  const { state } = st;
  const roles = req.input.roles
    .map((r) => `• ${escapeMrkdwn(truncate(roleLabel(r), 100))}`)
    .slice(0, 30)
    .join('\n');
  const expiry = req.input.expiresOn
    ? `on ${escapeMrkdwn(req.input.expiresOn)}`
    : req.input.expiresInDays === null
      ? 'never'
      : `after ${req.input.expiresInDays ?? 365} days`;
  const blocks: KnownBlock[] = [
    { type: 'section', text: md(`:key: ${mention(req.requestedBy)} requests an API key ${bold(truncate(req.input.name, 64))}`) },
    {
      type: 'section',
      fields: [
        md(`*Description*\n${escapeMrkdwn(truncate(req.input.description, 200))}`, limits.field),
        md(`*Roles*\n${roles || '_none_'}`, limits.field),
        md(`*Expires*\n${expiry}`, limits.field),
        md(`*Lapses*\n${slackDate(req.lapsesAt)}`, limits.field),
      ],
    },
    { type: 'section', text: md(`*Why*\n${escapeMrkdwn(truncate(req.why, 500))}`) },
  ];
  if (state === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: blockIds.requestActions,
      elements: [
        button({
          actionId: actionIds.approveRequest,
          text: 'Approve',
          value: req.requestId,
          style: 'primary',
          confirm: confirmDialog({
            title: 'Approve this request?',
            text: `A key ${bold(truncate(req.input.name, 64))} is created for ${mention(req.requestedBy)}, who gets its secret once.`,
            confirm: 'Approve',
          }),
        }),
        button({ actionId: actionIds.denyRequest, text: 'Deny', value: req.requestId, style: 'danger' }),
      ],
    });
  } else {
    blocks.push({ type: 'section', text: md(stateLine(req, st)) });
  }
  const head = `${req.requestedBy} requests an API key: ${truncate(req.input.name, 64)}`;
  return { text: escapeMrkdwn(state === 'pending' ? head : `${head} (${state})`), blocks };
}

/** The Deny modal: a reason the requester will read. */
export function denyModal(req: KeyRequest): ModalView {
  return {
    type: 'modal',
    callback_id: callbackIds.denyRequest,
    title: plain('Deny request', limits.viewTitle),
    submit: plain('Deny', limits.viewTitle),
    close: plain('Cancel', limits.viewTitle),
    private_metadata: fitJson({ r: req.requestId }, limits.privateMetadata),
    blocks: [
      { type: 'section', text: md(`Deny ${mention(req.requestedBy)}'s request for ${bold(truncate(req.input.name, 64))}?`) },
      {
        type: 'input',
        block_id: blockIds.denyReason,
        label: plain('Reason'),
        hint: plain('The requester reads this. 3–500 characters.'),
        element: { type: 'plain_text_input', action_id: actionIds.denyReasonInput, multiline: true, min_length: 3, max_length: 500 },
      },
    ],
  };
}

/** What the clicker of Approve/Deny/Cancel is told when the request was already decided or lapsed. */
export function alreadyDecidedText(req: KeyRequest, st: RequestStatus): string {
  const d = st.decision;
  switch (st.state) {
    case 'approved':
      return `Already approved by ${mention(d!.by)} ${slackDate(d!.at)} — ${st.keyCreated ? code(req.keyId) : `waiting for ${mention(req.requestedBy)} to collect it`}.`;
    case 'denied':
      return `Already denied by ${mention(d!.by)} ${slackDate(d!.at)}.`;
    case 'cancelled':
      return 'The requester cancelled this request.';
    case 'lapsed':
      return d?.decision === 'approved'
        ? `This approval lapsed: the key was not collected within ${days(st.ttlDays)}.`
        : 'This request lapsed: nobody decided in time. Ask for a new one.';
    default:
      return 'This request is still pending.';
  }
}

const stateLabel: Record<RequestState, string> = {
  pending: '⏳ pending',
  approved: '✅ approved',
  denied: '⛔ denied',
  cancelled: '↩️ cancelled',
  lapsed: '⌛ lapsed',
};

/** Home: pending requests with Approve/Deny (admins), then the viewer's own with state, Cancel and Collect key. */
export function homeRequestBlocks(pending: readonly KeyRequest[], mine: ReadonlyArray<{ request: KeyRequest; status: RequestStatus }>): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (pending.length) {
    blocks.push({ type: 'section', text: md(`*Pending key requests* (${pending.length})`) });
    for (const r of pending) {
      blocks.push({ type: 'section', text: md(`${mention(r.requestedBy)} · ${bold(truncate(r.input.name, 64))} — ${escapeMrkdwn(truncate(r.why, 200))}`) });
      blocks.push({
        type: 'actions',
        elements: [
          button({
            actionId: actionIds.approveRequest,
            text: 'Approve',
            value: r.requestId,
            style: 'primary',
            confirm: confirmDialog({
              title: 'Approve this request?',
              text: `A key ${bold(truncate(r.input.name, 64))} is created for ${mention(r.requestedBy)}, who gets its secret once.`,
              confirm: 'Approve',
            }),
          }),
          button({ actionId: actionIds.denyRequest, text: 'Deny', value: r.requestId, style: 'danger' }),
        ],
      });
    }
  }
  if (mine.length) {
    blocks.push({ type: 'section', text: md('*Your key requests*') });
    for (const { request: r, status: st } of mine) {
      const outcome =
        st.state === 'approved'
          ? st.collectable
            ? ` — ready to collect until ${slackDate(st.collectUntil)}`
            : ` — ${code(r.keyId)}`
          : st.state === 'denied' && st.decision?.reason
            ? ` — ${escapeMrkdwn(truncate(st.decision.reason, 200))}`
            : '';
      const line = md(`${bold(truncate(r.input.name, 64))} · ${stateLabel[st.state]}${outcome}`);
      if (st.state === 'pending') {
        blocks.push({ type: 'section', text: line, accessory: button({ actionId: actionIds.cancelRequest, text: 'Cancel', value: r.requestId }) });
      } else if (st.collectable) {
        blocks.push({
          type: 'section',
          text: line,
          accessory: button({
            actionId: actionIds.collectKey,
            text: 'Collect key',
            value: r.requestId,
            style: 'primary',
            confirm: confirmDialog({
              title: 'Collect your key now?',
              text: 'Its secret is shown once, in a window: have your secrets vault open to store it.',
              confirm: 'Show it',
            }),
          }),
        });
      } else {
        blocks.push({ type: 'section', text: line });
      }
    }
  }
  if (blocks.length) blocks.push({ type: 'divider' });
  return blocks;
}
