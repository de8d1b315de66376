import type { WebClient } from '@slack/web-api';
import type { Actor } from '../../members/member-service.js';
import type { Reply } from '../blocks/messages.js';
import type { SlackDeps } from '../deps.js';
import type { CommandPayload } from '../payloads.js';

/** What a subcommand handler gets: who asked, how to answer (ephemerally), and the client. */
export interface CommandContext {
  deps: SlackDeps;
  actor: Actor;
  payload: CommandPayload;
  client: WebClient;
  /** Answers the caller only (response_url, ephemeral). */
  reply(r: Reply): Promise<void>;
}
