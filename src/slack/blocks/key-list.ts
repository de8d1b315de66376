import type { ActionsBlock, Button, KnownBlock, SectionBlock } from '@slack/types';
import { expiryText, lifeStatus, type LifeStatus } from '../../keys/key-life.js';
import type { KeyRecord, ListPage } from '../../keys/key-record.js';
import { actionIds, blockIds } from '../ids.js';
import { encodeListState, type ListState } from '../list-state.js';
import { bold, button, code, escapeMrkdwn, limits, md, mention, plain, slackDate, truncate } from './text.js';

/** Where a list is shown: an ephemeral message, or the Home tab (which has its own controls). */
export type ListSurface = 'message' | 'home';

export interface KeyListOptions {
  page: ListPage;
  state: ListState;
  /** Admins get `Edit` per key and `+ API key`. */
  isAdmin: boolean;
  surface: ListSurface;
  /** The domain clock's now (ms): statuses and expiry texts are relative to it. */
  now: number;
}

const statusLabel: Record<ListState['s'], string> = { active: 'Active', expired: 'Expired', revoked: 'Revoked', all: 'All' };

const badges: Record<LifeStatus, string> = { active: ':large_green_circle: Active', expired: ':hourglass: Expired', revoked: ':red_circle: Revoked' };
/** `:large_green_circle: Active` / `:hourglass: Expired` / `:red_circle: Revoked`. */
export const statusBadge = (status: LifeStatus) => badges[status];

/** One key: its section (with `Edit` for admins) and a context line of who and when. */
export function keyRowBlocks(key: KeyRecord, isAdmin: boolean, now: number): KnownBlock[] {
  const roles = key.roles.map(code).join(', ') || '_none_';
  const text = [
    `${bold(truncate(key.name, 64))}  ${code(key.keyId)}  ${statusBadge(lifeStatus(key, now))}`,
    escapeMrkdwn(truncate(key.description, 99)),
    `Roles: ${roles}`,
  ].join('\n');
  const section: SectionBlock = { type: 'section', text: md(text, limits.sectionText) };
  if (isAdmin) section.accessory = button({ actionId: actionIds.editKey, text: 'Edit', value: key.keyId });
  const when = [
    `Created by ${mention(key.createdBy)} ${slackDate(key.createdAt)}`,
    `Last used ${slackDate(key.lastUsedAt)}`,
    expiryText(key, now),
    ...(key.status === 'revoked' ? [`Revoked ${slackDate(key.revokedAt, '')}${key.revokedBy ? ` by ${mention(key.revokedBy)}` : ''}`] : []),
  ].join(' · ');
  return [section, { type: 'context', elements: [md(when, limits.sectionText)] }];
}

/** The sentence shown when a page is empty: says what to do next. */
export function emptyListText(state: ListState, isAdmin: boolean, surface: ListSurface): string {
  const what = state.s === 'all' ? 'API keys' : `${state.s} API keys`;
  if (state.q) {
    const elsewhere =
      surface === 'home' ? 'Try another search, or the *All* filter.' : `Try \`/apikey list all ${escapeMrkdwn(truncate(state.q, 100))}\` or fewer words.`;
    return `No ${what} match “${escapeMrkdwn(truncate(state.q, 200))}”. ${elsewhere}`;
  }
  if (state.s === 'revoked') return 'No revoked API keys. Keys show up here once they are revoked.';
  if (state.s === 'expired') return 'No expired API keys. Keys show up here once their expiry date passes.';
  return isAdmin
    ? `No ${what} yet. Create one with *+ API key*${surface === 'message' ? ' or `/apikey create <name>`' : ''}.`
    : `No ${what} yet. Ask a Keywarden admin to create one.`;
}

/** Previous/Next, carrying the filter, the search and the cursor in their values. */
export function pagingBlock(page: ListPage, state: ListState): ActionsBlock | undefined {
  const base = { s: state.s, q: state.q };
  const elements: Button[] = [];
  if (page.prev) elements.push(button({ actionId: actionIds.listPrev, text: '← Previous', value: encodeListState({ ...base, b: page.prev }) }));
  if (page.next) elements.push(button({ actionId: actionIds.listNext, text: 'Next →', value: encodeListState({ ...base, a: page.next }) }));
  return elements.length ? { type: 'actions', block_id: blockIds.listPaging, elements } : undefined;
}

/** The `+ API key` button. */
export const addKeyButton = (): Button => button({ actionId: actionIds.addKey, text: '+ API key', style: 'primary' });

/**
 * A page of keys: at most 10 rows of 3 blocks plus 4 more, so ≤ 34 blocks — within a
 * message's 50 and, with the Home controls, a view's 100.
 */
export function keyListBlocks(opts: KeyListOptions): KnownBlock[] {
  const { page, state, isAdmin, surface, now } = opts;
  const blocks: KnownBlock[] = [];
  const title = `API keys · ${statusLabel[state.s]}${state.q ? ` · “${state.q}”` : ''}`;
  if (surface === 'message') {
    blocks.push({ type: 'header', text: plain(title, limits.header) });
    if (isAdmin) blocks.push({ type: 'actions', block_id: blockIds.listControls, elements: [addKeyButton()] });
  }
  if (page.cursorGone) blocks.push({ type: 'section', text: md(`:information_source: ${PAGE_GONE}`) });
  if (page.items.length === 0) {
    blocks.push({ type: 'section', text: md(emptyListText(state, isAdmin, surface)) });
    return blocks;
  }
  for (const key of page.items.slice(0, 10)) {
    blocks.push({ type: 'divider' }, ...keyRowBlocks(key, isAdmin, now));
  }
  const paging = pagingBlock(page, state);
  if (paging) blocks.push(paging);
  return blocks;
}

/** Said above the first page when the page asked for could not be found from its cursor. */
export const PAGE_GONE = 'That page is gone; here is the first page.';

/** Notification text of a list message (shown where blocks cannot be). */
export const keyListText = (page: ListPage, state: ListState) =>
  (page.cursorGone ? `${PAGE_GONE} ` : '') +
  (page.items.length ? `${page.items.length} ${state.s === 'all' ? '' : `${state.s} `}API key${page.items.length === 1 ? '' : 's'}` : 'No API keys');
