import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLASH_COMMAND } from '../../../src/slack/ids.js';

const manifest = parse(readFileSync(new URL('../../../manifest.yml', import.meta.url), 'utf8'));

describe('manifest.yml creates the app as it is', () => {
  it('one slash command, /apikey, escaped, at /slack/events', () => {
    expect(manifest.features.slash_commands).toHaveLength(1);
    const [cmd] = manifest.features.slash_commands;
    expect(cmd.command).toBe(SLASH_COMMAND);
    expect(cmd.should_escape).toBe(true);
    expect(new URL(cmd.url).pathname).toBe('/slack/events');
    expect(cmd.description.length).toBeLessThanOrEqual(100);
  });

  it('interactivity and the app_home_opened event at /slack/events, Home tab on', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(new URL(manifest.settings.interactivity.request_url).pathname).toBe('/slack/events');
    expect(new URL(manifest.settings.event_subscriptions.request_url).pathname).toBe('/slack/events');
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  it('asks for the bot scopes the code uses, and no more', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['chat:write', 'commands', 'im:write']);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });
});
