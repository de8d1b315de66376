import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadDotEnv } from '../../../src/config/env.js';

const base = { SLACK_SIGNING_SECRET: 'secret-secret', SLACK_BOT_TOKEN: 'xoxb-123456' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    expect(c.PORT).toBe(3000);
    expect(c.API_PORT).toBe(3001);
    expect(c.API_HOST).toBe('127.0.0.1');
    expect(c.REDIS_URL).toBeUndefined();
    expect(c.LOCAL_REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.KEY_PREFIX).toBe('kw');
    expect(c.MONGODB_URI).toBeUndefined();
    expect(c.WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBe(false);
    expect(c.ADMIN_SLACK_USER_IDS).toEqual([]);
    expect(c.LOG_LEVEL).toBe('info');
  });

  it('refuses one port for both Slack and the internal API', () => {
    expect(() => loadConfig({ ...base, PORT: '8080', API_PORT: '8080' })).toThrow(/API_PORT must differ from PORT/);
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

describe('loadDotEnv', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'dotenv-')), '.env');
  writeFileSync(file, 'SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\n# a comment\nLOG_LEVEL=debug\n');

  it('fills only variables the environment does not set', () => {
    const env: NodeJS.ProcessEnv = { PORT: '5000', ENV_FILE: file };
    loadDotEnv(env);
    expect(env).toMatchObject({ SLACK_BOT_TOKEN: 'xoxb-from-file', PORT: '5000', LOG_LEVEL: 'debug' });
  });

  it('reads nothing with ENV_FILE=none or when the file is missing', () => {
    const none: NodeJS.ProcessEnv = { ENV_FILE: 'none' };
    loadDotEnv(none, 'none');
    expect(none).toEqual({ ENV_FILE: 'none' });
    const missing: NodeJS.ProcessEnv = {};
    loadDotEnv(missing, join(tmpdir(), 'does-not-exist.env'));
    expect(missing).toEqual({});
  });
});
