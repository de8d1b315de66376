import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { tokenScanner } from '../../leaks/token-scan.js';
import { leakWarning } from '../blocks/leak-warning.js';
import type { SlackDeps } from '../deps.js';

/** Actor of revocations the leak guard makes (audit trail, notices, webhooks' revokedBy). */
export const LEAK_GUARD_ACTOR = 'slack-leak-guard';

const posted = z.object({
  text: z.string().default(''),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  ts: z.string(),
  thread_ts: z.string().optional(),
});
/** A new message, or an edit (`message_changed`, whose new text is in `message`). */
const messageEvent = z
  .object({
    type: z.literal('message'),
    subtype: z.string().optional(),
    channel: z.string().min(1),
    message: posted.optional(),
  })
  .passthrough();
const envelope = z.object({
  team_id: z.string().optional(),
  enterprise_id: z.string().nullish(),
  authorizations: z
    .array(z.object({ team_id: z.string().nullish(), enterprise_id: z.string().nullish(), is_enterprise_install: z.boolean().optional() }))
    .optional(),
});

/**
 * LEAK_GUARD: a message or an edit, in any conversation the bot is in, that contains a live
 * key revokes it as leaked (actor `slack-leak-guard`, the channel and message ts recorded),
 * before this listener returns; the poster gets an ephemeral explanation without the token;
 * the notice channel and the key's creator get the revocation notice. Messages without a
 * token (nearly all) and the bot's own end at a substring test, with nothing read.
 */
export function leakGuard(deps: SlackDeps) {
  const scan = tokenScanner(deps.core.config.KEY_PREFIX);
  return async ({ event, body, client, context }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs): Promise<void> => {
    const raw = event as unknown as Record<string, unknown>;
    const text = typeof raw.text === 'string' ? raw.text : (raw.message as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') return;
    const tokens = scan(text);
    if (tokens.length === 0) return;
    const parsed = messageEvent.safeParse(event);
    if (!parsed.success) return;
    const e = parsed.data;
    const msg = e.subtype === 'message_changed' ? e.message : posted.safeParse(event).data;
    if (!msg || msg.text !== text) return;
    // The bot's own messages (Bolt drops most of them; edits carry the bot inside `message`).
    if ((context.botId && msg.bot_id === context.botId) || (context.botUserId && msg.user === context.botUserId)) return;

    const outcomes = [];
    for (const token of tokens) {
      const outcome = await deps.core.keys.revokeLeaked(token, LEAK_GUARD_ACTOR, { source: 'slack', channel: e.channel, ts: msg.ts });
      if (outcome.kind !== 'noise') outcomes.push(outcome);
    }
    const revoked = outcomes.flatMap((o) => (o.kind === 'revoked' ? [o.key.keyId] : []));
    deps.log.info({ channel: e.channel, ts: msg.ts, tokens: tokens.length, revoked }, 'leak guard: a key was posted in Slack');
    if (!msg.user || outcomes.length === 0) return;
    const env = envelope.parse(body);
    const auth = env.authorizations?.[0];
    const communityId = (auth?.is_enterprise_install && auth.enterprise_id) || auth?.team_id || env.team_id || '';
    await client.chat.postEphemeral({
      channel: e.channel,
      user: msg.user,
      text: leakWarning(outcomes, communityId),
      ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}),
    });
  };
}
