import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLASH_COMMAND } from '../../../src/slack/ids.js';

/** The leak guard's events and the history scope each needs (optional: LEAK_GUARD=true only). */
const LEAK_GUARD_EVENTS = ['message.channels', 'message.groups', 'message.im', 'message.mpim'];
const LEAK_GUARD_SCOPES = ['channels:history', 'groups:history', 'im:history', 'mpim:history'];

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
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened', ...LEAK_GUARD_EVENTS]);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  it('asks for the bot scopes the code uses, and no more', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['chat:write', 'commands', 'im:write', ...LEAK_GUARD_SCOPES].sort());
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });

  it("marks the leak guard's events and scopes as optional, each event with its scope", () => {
    const text = readFileSync(new URL('../../../manifest.yml', import.meta.url), 'utf8');
    expect(text.match(/OPTIONAL, only for LEAK_GUARD=true/g)).toHaveLength(2);
    for (const [i, event] of LEAK_GUARD_EVENTS.entries()) expect(LEAK_GUARD_SCOPES[i]!.split(':')[0]).toBe(event.split('.')[1]);
  });
});
