import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configTable, envSchema } from '../../../src/config/env.js';

const known = new Set(Object.keys(envSchema.shape));
const read = (f: string) => readFileSync(new URL(`../../../${f}`, import.meta.url), 'utf8');

describe('README', () => {
  it('carries the configuration table generated from the schema', () => {
    const readme = read('README.md');
    const table = readme.split('<!-- config-table:start -->\n')[1]?.split('\n\n<!-- config-table:end -->')[0];
    expect(table, 'regenerate with: npm run docs:config').toBe(configTable());
  });

  it('gives the two set-up commands', () => {
    expect(read('README.md')).toMatch(/```sh\nnpm install\nnpm test\n```/);
  });
});

describe('.env.example', () => {
  it('names only variables the config schema knows', () => {
    for (const name of Object.keys(parseEnv(read('.env.example')))) expect(known, name).toContain(name);
  });
});

describe('docker-compose.yml (what `docker compose config` checks, without an engine)', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<
      string,
      {
        image?: string;
        build?: unknown;
        command?: string[];
        environment?: Record<string, string>;
        depends_on?: Record<string, { condition: string }>;
        healthcheck?: { test: unknown };
        volumes?: string[];
        ports?: string[];
      }
    >;
    volumes: Record<string, unknown>;
  };

  it('has mongo, redis, bot and worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['bot', 'mongo', 'redis', 'worker']);
  });

  it('passes only variables the config schema knows', () => {
    for (const name of ['bot', 'worker']) {
      for (const v of Object.keys(compose.services[name]!.environment ?? {})) expect(known, `${name}: ${v}`).toContain(v);
    }
  });

  it('runs MongoDB as a replica set and Redis with AOF and noeviction, both on volumes', () => {
    const { mongo, redis } = compose.services;
    expect(mongo!.command).toEqual(expect.arrayContaining(['--replSet']));
    expect(redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    for (const s of [mongo!, redis!]) {
      const volume = s.volumes![0]!.split(':')[0]!;
      expect(compose.volumes).toHaveProperty(volume);
      expect(s.healthcheck?.test).toBeDefined();
    }
    expect(compose.services.bot!.environment!.MONGODB_URI).toMatch(/replicaSet=rs0/);
  });

  it('lets other containers reach the internal API, and the host only on loopback', () => {
    const { bot } = compose.services;
    expect(bot!.environment).toMatchObject({ PORT: '3000', API_PORT: '3001', API_HOST: '0.0.0.0' });
    const published = bot!.ports!.map((p) => p.replace(/\$\{[^}]*\}/g, 'X'));
    expect(published).toEqual(['X:3000', '127.0.0.1:X:3001']);
  });

  it('starts bot and worker from one image, after healthy dependencies', () => {
    const { bot, worker } = compose.services;
    expect(bot!.build).toBeDefined();
    expect(worker!.image).toBe(bot!.image);
    expect(bot!.command).toEqual(['dist/src/main/bot.js']);
    expect(worker!.command).toEqual(['dist/src/main/worker.js']);
    for (const s of [bot!, worker!]) {
      expect(s.depends_on!.mongo!.condition).toBe('service_healthy');
      expect(s.depends_on!.redis!.condition).toBe('service_healthy');
    }
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    expect(scripts['start:bot']).toBe('node dist/src/main/bot.js');
    expect(scripts['start:worker']).toBe('node dist/src/main/worker.js');
  });
});

describe('Dockerfile', () => {
  const df = read('Dockerfile');
  it('is multi-stage, production-only, non-root, with a health check on /healthz', () => {
    expect(df.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(df).toMatch(/npm ci --omit=dev/);
    expect(df).toMatch(/^USER node$/m);
    expect(df).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('runs compiled JavaScript, built (and type-checked) in a build stage', () => {
    expect(df).toMatch(/^ENTRYPOINT \["node"\]$/m);
    expect(df).toMatch(/^CMD \["dist\/src\/main\/all\.js"\]$/m);
    expect(df).not.toMatch(/"tsx"|--import/);
    expect(df).toMatch(/^RUN npm ci --no-audit/m);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.start).toBe('node dist/src/main/all.js');
    for (const dev of ['tsx', 'vitest', 'esbuild', 'typescript', 'mongodb-memory-server']) expect(Object.keys(pkg.dependencies)).not.toContain(dev);
  });
});
