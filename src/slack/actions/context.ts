import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Actor } from '../../members/member-service.js';
import { blockActionPayload, interactionActor, type BlockActionPayload } from '../payloads.js';

/** Bolt's arguments for a block action listener. */
export type ActionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** The parsed payload, the caller, and the clicked action. */
export interface ParsedAction {
  body: BlockActionPayload;
  actor: Actor;
  action: BlockActionPayload['actions'][number];
}

/** Parses the fields of a block action the handlers read (zod). */
export function parseAction(body: unknown): ParsedAction {
  const parsed = blockActionPayload.parse(body);
  return { body: parsed, actor: interactionActor(parsed), action: parsed.actions[0]! };
}

/** True when the click came from the Home tab. */
export const fromHome = (body: BlockActionPayload) => body.container.type === 'view' && body.view?.type === 'home';
