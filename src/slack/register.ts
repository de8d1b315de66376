import type { App } from '@slack/bolt';
import { register as registerActions } from './actions/index.js';
import { register as registerCommands } from './commands/index.js';
import type { SlackDeps } from './deps.js';
import { register as registerEvents } from './events/index.js';
import { register as registerHome } from './home/index.js';
import { register as registerViews } from './views/index.js';

/** Every listener of the app, folder by folder. */
export function registerListeners(app: App, deps: SlackDeps): void {
  registerCommands(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
  registerHome(app, deps);
  registerEvents(app, deps);
}
