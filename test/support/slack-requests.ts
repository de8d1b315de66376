import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { FAKE_BOT_ID, FAKE_BOT_USER_ID, FAKE_TEAM_ID } from './fake-slack.js';

/** App id and verification token carried by every built payload. */
export const FAKE_APP_ID = 'A0TEST';
/** The (deprecated, still sent) verification token in payloads; Bolt does not check it. */
export const FAKE_VERIFICATION_TOKEN = 'fakeVerificationToken0123';

/** The form content type Bolt requires, exactly: `; charset=utf-8` gets a 400. */
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
/** The content type of Events API envelopes. */
export const JSON_CONTENT_TYPE = 'application/json';

/** Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` keyed by the signing secret. */
export function sign(secret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Seconds since the epoch, as in `X-Slack-Request-Timestamp`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e11)}.${randomBytes(16).toString('hex')}`;
}

function actionTs(): string {
  return (Date.now() / 1000).toFixed(6);
}

// Lowercase ascii of the team id, as Slack's workspace subdomain would be.
function teamDomain(teamId: string): string {
  return `team-${teamId.toLowerCase()}`;
}

function enterprise(enterpriseId: string | undefined): { id: string; name: string } | null {
  return enterpriseId === undefined ? null : { id: enterpriseId, name: `Enterprise ${enterpriseId}` };
}

function payloadBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function user(userId: string, teamId: string): Record<string, string> {
  return { id: userId, username: `user-${userId.toLowerCase()}`, name: `user-${userId.toLowerCase()}`, team_id: teamId };
}

function team(teamId: string, enterpriseId: string | undefined): Record<string, string> {
  const base = { id: teamId, domain: teamDomain(teamId) };
  return enterpriseId === undefined ? base : { ...base, enterprise_id: enterpriseId, enterprise_name: `Enterprise ${enterpriseId}` };
}

/** Decodes a `payload=<json>` interaction body back into the object Slack sent. */
export function parsePayload(body: string): Record<string, unknown> {
  const payload = new URLSearchParams(body).get('payload');
  if (payload === null) throw new Error('body has no payload field');
  return JSON.parse(payload) as Record<string, unknown>;
}

/** Options of {@link slashCommand}. */
export interface SlashCommandOptions {
  /** Text after the command, e.g. `list revoked`. */
  text: string;
  userId: string;
  /** Default `T0TEST`, the fake's team. */
  teamId?: string;
  /** Set for org-wide (Enterprise Grid) installs; also sets `is_enterprise_install=true`. */
  enterpriseId?: string;
  /** Default `C0TEST`. */
  channelId?: string;
  /** Where `respond()` posts: usually `fake.responseUrl()`. */
  responseUrl: string;
  /** Default: a freshly generated trigger id. */
  triggerId?: string;
  /** Default `/apikey`. */
  command?: string;
}

/** A slash command body, form-encoded with every field Slack sends. */
export function slashCommand(opts: SlashCommandOptions): string {
  const teamId = opts.teamId ?? FAKE_TEAM_ID;
  const fields: Record<string, string> = {
    token: FAKE_VERIFICATION_TOKEN,
    team_id: teamId,
    team_domain: teamDomain(teamId),
    ...(opts.enterpriseId === undefined ? {} : { enterprise_id: opts.enterpriseId, enterprise_name: `Enterprise ${opts.enterpriseId}` }),
    channel_id: opts.channelId ?? 'C0TEST',
    channel_name: 'keywarden-test',
    user_id: opts.userId,
    user_name: `user-${opts.userId.toLowerCase()}`,
    command: opts.command ?? '/apikey',
    text: opts.text,
    api_app_id: FAKE_APP_ID,
    is_enterprise_install: String(opts.enterpriseId !== undefined),
    response_url: opts.responseUrl,
    trigger_id: opts.triggerId ?? triggerId(),
  };
  return new URLSearchParams(fields).toString();
}

/** The container of a `block_actions` payload for a button in a message. */
export interface MessageContainer {
  type: 'message';
  /** Default: a generated ts. */
  message_ts?: string;
  /** Default `C0TEST`. */
  channel_id?: string;
  /** Default `true`: Keywarden's lists are ephemeral. */
  is_ephemeral?: boolean;
}

/** The container of a `block_actions` payload for a button in a modal or the Home tab. */
export interface ViewContainer {
  type: 'view';
  view_id: string;
}

/** Options of {@link blockAction}. */
export interface BlockActionOptions {
  userId: string;
  /** Default `T0TEST`. */
  teamId?: string;
  /** Sets `enterprise` and `is_enterprise_install`. */
  enterpriseId?: string;
  actionId: string;
  /** Default: a random id, as Slack generates when the block has none. */
  blockId?: string;
  /** Button value. */
  value?: string;
  /** Makes the action a `static_select` with this selected option instead of a button. */
  selectedOption?: { value: string; text?: string };
  container: MessageContainer | ViewContainer;
  /** A message's input state (message containers): `{[block_id]: {[action_id]: value}}`. */
  state?: Record<string, Record<string, ViewStateValue>>;
  /** Fields merged into the payload's `view` (view containers only), e.g. `{type:'home'}` or `private_metadata`. */
  view?: Record<string, unknown>;
  /**
   * `response_url` for message containers. Default: a loopback URL that refuses connections,
   * so a test that forgot `fake.responseUrl()` fails fast instead of reaching Slack.
   */
  responseUrl?: string;
  triggerId?: string;
}

function baseView(viewId: string, teamId: string): Record<string, unknown> {
  return {
    id: viewId,
    team_id: teamId,
    type: 'modal',
    blocks: [],
    private_metadata: '',
    callback_id: '',
    state: { values: {} },
    hash: `${Date.now()}.${viewId}`,
    title: { type: 'plain_text', text: 'Keywarden', emoji: true },
    clear_on_close: false,
    notify_on_close: false,
    close: null,
    submit: null,
    previous_view_id: null,
    root_view_id: viewId,
    app_id: FAKE_APP_ID,
    external_id: '',
    app_installed_team_id: teamId,
    bot_id: FAKE_BOT_ID,
  };
}

function action(opts: BlockActionOptions): Record<string, unknown> {
  const common = {
    action_id: opts.actionId,
    block_id: opts.blockId ?? randomBytes(3).toString('hex'),
    action_ts: actionTs(),
  };
  if (opts.selectedOption !== undefined) {
    const { value, text = value } = opts.selectedOption;
    return { type: 'static_select', ...common, selected_option: { text: { type: 'plain_text', text, emoji: true }, value } };
  }
  return {
    type: 'button',
    ...common,
    text: { type: 'plain_text', text: opts.actionId, emoji: true },
    ...(opts.value === undefined ? {} : { value: opts.value }),
  };
}

/** A `block_actions` interaction body (`payload=<json>`), as Slack sends for a button click or a select. */
export function blockAction(opts: BlockActionOptions): string {
  const teamId = opts.teamId ?? FAKE_TEAM_ID;
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: user(opts.userId, teamId),
    api_app_id: FAKE_APP_ID,
    token: FAKE_VERIFICATION_TOKEN,
    trigger_id: opts.triggerId ?? triggerId(),
    team: team(teamId, opts.enterpriseId),
    enterprise: enterprise(opts.enterpriseId),
    is_enterprise_install: opts.enterpriseId !== undefined,
    actions: [action(opts)],
  };
  if (opts.container.type === 'message') {
    const channelId = opts.container.channel_id ?? 'C0TEST';
    payload.container = {
      type: 'message',
      message_ts: opts.container.message_ts ?? actionTs(),
      channel_id: channelId,
      is_ephemeral: opts.container.is_ephemeral ?? true,
    };
    payload.channel = { id: channelId, name: 'keywarden-test' };
    payload.response_url = opts.responseUrl ?? 'http://127.0.0.1:9/respond/unset';
    if (opts.state) payload.state = { values: opts.state };
  } else {
    payload.container = { type: 'view', view_id: opts.container.view_id };
    payload.view = { ...baseView(opts.container.view_id, teamId), ...opts.view, id: opts.container.view_id };
    if (opts.responseUrl !== undefined) payload.response_url = opts.responseUrl;
  }
  return payloadBody(payload);
}

/** An option as it appears in a select's state. */
export interface SelectedOption {
  text: { type: 'plain_text'; text: string; emoji?: boolean };
  value: string;
}

/** One input's state in `view.state.values[block_id][action_id]`. */
export type ViewStateValue =
  | { type: 'plain_text_input'; value: string | null }
  | { type: 'multi_static_select'; selected_options: SelectedOption[] }
  | { type: 'static_select'; selected_option: SelectedOption | null }
  | { type: 'datepicker'; selected_date: string | null }
  | { type: 'users_select'; selected_user: string | null }
  | { type: 'multi_users_select'; selected_users: string[] };

/** State of a `plain_text_input`. */
export function textInput(value: string | null): ViewStateValue {
  return { type: 'plain_text_input', value };
}

/** State of a `static_select` (text and value alike). */
export function staticSelect(value: string | null): ViewStateValue {
  return { type: 'static_select', selected_option: value === null ? null : { text: { type: 'plain_text', text: value, emoji: true }, value } };
}

/** State of a `datepicker` (`YYYY-MM-DD`). */
export function datePicker(date: string | null): ViewStateValue {
  return { type: 'datepicker', selected_date: date };
}

/** State of a `multi_static_select`; plain strings are used as both text and value. */
export function multiSelect(options: ReadonlyArray<string | { text: string; value: string }>): ViewStateValue {
  return {
    type: 'multi_static_select',
    selected_options: options.map((o) => {
      const { text, value } = typeof o === 'string' ? { text: o, value: o } : o;
      return { text: { type: 'plain_text', text, emoji: true }, value };
    }),
  };
}

/** Options of {@link viewSubmission}. */
export interface ViewSubmissionOptions {
  userId: string;
  /** Default `T0TEST`. */
  teamId?: string;
  enterpriseId?: string;
  callbackId: string;
  /** Default `''`. */
  privateMetadata?: string;
  /** `view.state.values`: block_id → action_id → state. */
  values: Record<string, Record<string, ViewStateValue>>;
  /** Default: a generated `V…` id. */
  viewId?: string;
  triggerId?: string;
}

/** A `view_submission` interaction body (`payload=<json>`). */
export function viewSubmission(opts: ViewSubmissionOptions): string {
  const teamId = opts.teamId ?? FAKE_TEAM_ID;
  const viewId = opts.viewId ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
  const payload = {
    type: 'view_submission',
    team: team(teamId, opts.enterpriseId),
    user: user(opts.userId, teamId),
    api_app_id: FAKE_APP_ID,
    token: FAKE_VERIFICATION_TOKEN,
    trigger_id: opts.triggerId ?? triggerId(),
    view: {
      ...baseView(viewId, teamId),
      callback_id: opts.callbackId,
      private_metadata: opts.privateMetadata ?? '',
      state: { values: opts.values },
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      close: { type: 'plain_text', text: 'Cancel', emoji: true },
    },
    response_urls: [],
    is_enterprise_install: opts.enterpriseId !== undefined,
    enterprise: enterprise(opts.enterpriseId),
  };
  return payloadBody(payload);
}

/** Options of {@link appHomeOpened}. */
export interface AppHomeOpenedOptions {
  userId: string;
  /** Default `T0TEST`. */
  teamId?: string;
  enterpriseId?: string;
  /** The Home view Slack includes when one was published before. */
  view?: Record<string, unknown>;
}

/** An Events API `event_callback` envelope (JSON text) for `app_home_opened` on the Home tab. */
export function appHomeOpened(opts: AppHomeOpenedOptions): string {
  const teamId = opts.teamId ?? FAKE_TEAM_ID;
  const eventTs = actionTs();
  return JSON.stringify({
    token: FAKE_VERIFICATION_TOKEN,
    team_id: teamId,
    ...(opts.enterpriseId === undefined ? {} : { enterprise_id: opts.enterpriseId }),
    api_app_id: FAKE_APP_ID,
    event: {
      type: 'app_home_opened',
      user: opts.userId,
      channel: `D${opts.userId}`,
      tab: 'home',
      event_ts: eventTs,
      ...(opts.view === undefined ? {} : { view: opts.view }),
    },
    type: 'event_callback',
    event_id: `Ev${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`,
    event_time: nowSeconds(),
    authorizations: [
      {
        enterprise_id: opts.enterpriseId ?? null,
        team_id: teamId,
        user_id: FAKE_BOT_USER_ID,
        is_bot: true,
        is_enterprise_install: opts.enterpriseId !== undefined,
      },
    ],
    is_ext_shared_channel: false,
  });
}

/** Options of {@link sendSigned}. */
export interface SendSignedOptions {
  /** The app's signing secret. */
  secret: string;
  /** Default: `application/json` when the body is a JSON object, else exactly `application/x-www-form-urlencoded`. */
  contentType?: string;
  /** `X-Slack-Request-Timestamp` in seconds; default now. Set an old one for stale-timestamp tests. */
  timestamp?: number | string;
  /** Overrides `X-Slack-Signature` (for bad-signature tests); default: the correct signature. */
  signature?: string;
  /** Default `/slack/events`. */
  path?: string;
}

/** What the app answered. */
export interface SignedResponse {
  status: number;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

/** POSTs `body` to `${baseUrl}/slack/events` signed as Slack signs it, with the global `fetch`. */
export async function sendSigned(baseUrl: string, body: string, opts: SendSignedOptions): Promise<SignedResponse> {
  const timestamp = opts.timestamp ?? nowSeconds();
  const contentType = opts.contentType ?? (body.trimStart().startsWith('{') ? JSON_CONTENT_TYPE : FORM_CONTENT_TYPE);
  const url = `${baseUrl.replace(/\/+$/, '')}${opts.path ?? '/slack/events'}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': opts.signature ?? sign(opts.secret, timestamp, body),
    },
    body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}
