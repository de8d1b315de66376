import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { SLASH_COMMAND } from '../ids.js';
import { apikeyCommand } from './apikey-command.js';

/** Registers `/apikey`. */
export function register(app: App, deps: SlackDeps): void {
  app.command(SLASH_COMMAND, apikeyCommand(deps));
}
