import { z } from 'zod';
import type { Actor } from '../members/member-service.js';

/**
 * zod schemas for the fields of Slack payloads the app reads, and nothing more: unknown
 * fields pass through untouched, missing or mistyped ones fail loudly.
 */

const enterpriseRef = z.object({ id: z.string().min(1) }).nullish();
const teamRef = z.object({ id: z.string().min(1) }).nullish();

/** `/apikey` as Slack posts it (form fields; booleans are the text "true"/"false"). */
export const commandPayload = z.object({
  text: z.string().default(''),
  user_id: z.string().min(1),
  team_id: z.string().min(1),
  enterprise_id: z.string().optional(),
  is_enterprise_install: z.string().optional(),
  trigger_id: z.string().min(1),
  channel_id: z.string().optional(),
  /** Where the answer goes (ephemeral, up to 5 posts within 30 minutes); Slack always sends it. */
  response_url: z.string().optional(),
});
export type CommandPayload = z.infer<typeof commandPayload>;

const plainInput = z.object({ type: z.literal('plain_text_input'), value: z.string().nullish() });
const multiSelect = z.object({
  type: z.literal('multi_static_select'),
  selected_options: z.array(z.object({ value: z.string() })).default([]),
});
const staticSelect = z.object({
  type: z.literal('static_select'),
  selected_option: z.object({ value: z.string() }).nullish(),
});
const datePicker = z.object({ type: z.literal('datepicker'), selected_date: z.string().nullish() });
/** One input's state; other element types are kept but not read. */
const stateValue = z.union([plainInput, multiSelect, staticSelect, datePicker, z.object({ type: z.string() })]);

const viewPayload = z.object({
  id: z.string().min(1),
  type: z.string().optional(),
  callback_id: z.string().optional(),
  private_metadata: z.string().optional().default(''),
  hash: z.string().optional(),
  state: z.object({ values: z.record(z.string(), z.record(z.string(), stateValue)) }).optional(),
});
export type ViewPayload = z.infer<typeof viewPayload>;

const interactionBase = z.object({
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }),
  team: teamRef,
  enterprise: enterpriseRef,
  is_enterprise_install: z.boolean().optional(),
  trigger_id: z.string().optional(),
});

/** A button click or select change. */
export const blockActionPayload = interactionBase.extend({
  type: z.literal('block_actions'),
  actions: z
    .array(
      z.object({
        action_id: z.string(),
        value: z.string().optional(),
        selected_option: z.object({ value: z.string() }).nullish(),
      }),
    )
    .min(1),
  container: z.object({ type: z.string(), view_id: z.string().optional() }),
  view: viewPayload.optional(),
  response_url: z.string().optional(),
  /** A message's inputs (a view's are in `view.state`). */
  state: z.object({ values: z.record(z.string(), z.record(z.string(), stateValue)) }).optional(),
});
export type BlockActionPayload = z.infer<typeof blockActionPayload>;

export const viewSubmissionPayload = interactionBase.extend({
  type: z.literal('view_submission'),
  view: viewPayload,
});
export type ViewSubmissionPayload = z.infer<typeof viewSubmissionPayload>;

/** `app_home_opened` inside its Events API envelope. */
export const homeOpenedPayload = z.object({
  team_id: z.string().optional(),
  enterprise_id: z.string().nullish(),
  authorizations: z
    .array(z.object({ team_id: z.string().nullish(), enterprise_id: z.string().nullish(), is_enterprise_install: z.boolean().optional() }))
    .optional(),
  event: z.object({
    type: z.literal('app_home_opened'),
    user: z.string().min(1),
    tab: z.string().optional(),
    view: z.object({ private_metadata: z.string().optional() }).nullish(),
  }),
});
export type HomeOpenedPayload = z.infer<typeof homeOpenedPayload>;

/** The caller of a slash command. Org-wide installs share one community: the enterprise. */
export function commandActor(p: CommandPayload): Actor {
  const orgWide = p.is_enterprise_install === 'true' && Boolean(p.enterprise_id);
  return { communityId: orgWide ? p.enterprise_id! : p.team_id, userId: p.user_id };
}

/** The caller of a block action or view submission. */
export function interactionActor(p: z.infer<typeof interactionBase>): Actor {
  const enterpriseId = p.enterprise?.id;
  const teamId = p.team?.id ?? p.user.team_id;
  const communityId = (p.is_enterprise_install && enterpriseId) || teamId || enterpriseId;
  if (!communityId) throw new Error('interaction payload names neither a team nor an enterprise');
  return { communityId, userId: p.user.id };
}

/** The user who opened the Home tab. */
export function homeActor(p: HomeOpenedPayload): Actor {
  const auth = p.authorizations?.[0];
  const enterpriseId = auth?.enterprise_id ?? p.enterprise_id ?? undefined;
  const teamId = auth?.team_id ?? p.team_id;
  const communityId = (auth?.is_enterprise_install && enterpriseId) || teamId || enterpriseId;
  if (!communityId) throw new Error('event names neither a team nor an enterprise');
  return { communityId, userId: p.event.user };
}

/** Reads one text input from a view's state. */
export function textValue(view: ViewPayload, blockId: string, actionId: string): string | undefined {
  const v = view.state?.values[blockId]?.[actionId];
  return v && v.type === 'plain_text_input' && 'value' in v ? (v.value ?? undefined) : undefined;
}

/** Reads a multi-select's values from a view's state. */
export function multiValues(view: ViewPayload, blockId: string, actionId: string): string[] {
  const v = view.state?.values[blockId]?.[actionId];
  return v && v.type === 'multi_static_select' && 'selected_options' in v ? v.selected_options.map((o) => o.value) : [];
}

/** Reads a datepicker's `YYYY-MM-DD` from a view's state. */
export function dateValue(view: ViewPayload, blockId: string, actionId: string): string | undefined {
  const v = view.state?.values[blockId]?.[actionId];
  return v && v.type === 'datepicker' && 'selected_date' in v ? (v.selected_date ?? undefined) : undefined;
}

/** Reads a static select's value from a view's state. */
export function selectValue(view: ViewPayload, blockId: string, actionId: string): string | undefined {
  const v = view.state?.values[blockId]?.[actionId];
  return v && v.type === 'static_select' && 'selected_option' in v ? (v.selected_option?.value ?? undefined) : undefined;
}
