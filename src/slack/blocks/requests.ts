import type { InputBlock, KnownBlock, ModalView } from '@slack/types';
import type { RoleCatalog } from '../../roles/catalog.js';
import type { Decision, KeyRequest, RequestState } from '../../requests/request-service.js';
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

const stateLine = (state: RequestState, d: Decision | undefined, keyId: string): string => {
  switch (state) {
    case 'approved':
      return `✅ Approved by ${mention(d!.by)} — ${code(keyId)}`;
    case 'denied':
      return `⛔ Denied by ${mention(d!.by)}${d?.reason ? ` — ${escapeMrkdwn(truncate(d.reason, 500))}` : ''}`;
    case 'cancelled':
      return '↩️ Cancelled by the requester';
    case 'lapsed':
      return '⌛ Lapsed: nobody decided in time';
    default:
      return '';
  }
};

/** The request as admins see it: who, the fields, why; Approve/Deny while pending, else the outcome. */
export function requestMessage(req: KeyRequest, roleLabel: (id: string) => string, state: RequestState, decision?: Decision): Reply {
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
    blocks.push({ type: 'section', text: md(stateLine(state, decision, req.keyId)) });
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

/** What the clicker of Approve/Deny is told when the request was already decided or lapsed. */
export function alreadyDecidedText(state: RequestState, d: Decision | undefined, keyId: string): string {
  switch (state) {
    case 'approved':
      return `Already approved by ${mention(d!.by)} ${slackDate(d!.at)} — ${code(keyId)}.`;
    case 'denied':
      return `Already denied by ${mention(d!.by)} ${slackDate(d!.at)}.`;
    case 'cancelled':
      return 'The requester cancelled this request.';
    case 'lapsed':
      return 'This request lapsed: nobody decided in time. Ask for a new one.';
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

/** Home: pending requests with Approve/Deny (admins), then the viewer's own with state and Cancel. */
export function homeRequestBlocks(
  pending: readonly KeyRequest[],
  mine: ReadonlyArray<{ request: KeyRequest; state: RequestState; decision?: Decision | undefined }>,
): KnownBlock[] {
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
    for (const m of mine) {
      const line = md(
        `${bold(truncate(m.request.input.name, 64))} · ${stateLabel[m.state]}${m.state === 'approved' ? ` — ${code(m.request.keyId)}` : ''}${m.state === 'denied' && m.decision?.reason ? ` — ${escapeMrkdwn(truncate(m.decision.reason, 200))}` : ''}`,
      );
      blocks.push(
        m.state === 'pending'
          ? { type: 'section', text: line, accessory: button({ actionId: actionIds.cancelRequest, text: 'Cancel', value: m.request.requestId }) }
          : { type: 'section', text: line },
      );
    }
  }
  if (blocks.length) blocks.push({ type: 'divider' });
  return blocks;
}
