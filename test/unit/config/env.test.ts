import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/env.js';

const base = { SLACK_SIGNING_SECRET: 'secret-secret', SLACK_BOT_TOKEN: 'xoxb-123456' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    expect(c.PORT).toBe(3000);
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.KEY_PREFIX).toBe('kw');
    expect(c.MONGODB_URI).toBeUndefined();
    expect(c.WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBe(false);
    expect(c.ADMIN_SLACK_USER_IDS).toEqual([]);
    expect(c.LOG_LEVEL).toBe('info');
  });

  it('parses lists and booleans', () => {
    const c = loadConfig({ ...base, ADMIN_SLACK_USER_IDS: 'U01, U02 ,', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE: '100,200' });
    expect(c.ADMIN_SLACK_USER_IDS).toEqual(['U01', 'U02']);
    expect(c.WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBe(true);
    expect(c.WEBHOOK_RETRY_SCHEDULE).toEqual([100, 200]);
  });

  it('treats empty strings as unset for optional variables', () => {
    expect(loadConfig({ ...base, SLACK_APP_TOKEN: '', NOTIFY_CHANNEL_ID: '' }).SLACK_APP_TOKEN).toBeUndefined();
  });

  it('names every bad variable on its own line', () => {
    try {
      loadConfig({ PORT: 'eighty', MONGODB_URI: 'postgres://x', KEY_PREFIX: 'Bad Prefix' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const lines = (e as ConfigError).problems;
      expect(lines.find((l) => l.startsWith('SLACK_SIGNING_SECRET '))).toMatch(/is required/);
      expect(lines.find((l) => l.startsWith('SLACK_BOT_TOKEN '))).toMatch(/is required/);
      expect(lines.find((l) => l.startsWith('PORT '))).toMatch(/whole number/);
      expect(lines.find((l) => l.startsWith('MONGODB_URI '))).toMatch(/mongodb:\/\//);
      expect(lines.find((l) => l.startsWith('KEY_PREFIX '))).toMatch(/lowercase/);
      expect(lines).toHaveLength(5);
    }
  });
});
