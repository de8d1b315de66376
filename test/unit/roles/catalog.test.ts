import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRoleCatalog } from '../../../src/roles/catalog.js';

const file = (content: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'roles-')), 'roles.yml');
  writeFileSync(p, content);
  return p;
};

describe('role catalog', () => {
  it('ships defaults that display as "id - label" within Slack option limits', () => {
    const catalog = loadRoleCatalog();
    expect(catalog.display('ic_viewer')).toBe('ic_viewer - Intelligence Center Read-Only');
    expect(catalog.roles.length).toBeGreaterThan(5);
    for (const r of catalog.roles) expect(catalog.display(r.id).length).toBeLessThanOrEqual(75);
  });

  it('is replaceable with ROLES_FILE (YAML or JSON)', () => {
    const c = loadRoleCatalog(file('{"roles":[{"id":"custom_role","label":"Custom"}]}'));
    expect(c.roles.map((r) => r.id)).toEqual(['custom_role']);
    expect(c.has('ic_viewer')).toBe(false);
  });

  it.each([
    ['duplicate ids', 'roles:\n  - {id: a_b, label: A}\n  - {id: a_b, label: B}\n', /unique/],
    ['a bad id', 'roles:\n  - {id: "Bad Id", label: A}\n', /lowercase/],
    ['no roles', 'roles: []\n', /at least one/],
    ['a label too long for Slack', `roles:\n  - {id: ab, label: "${'x'.repeat(50)}"}\n`, /at most 42/],
  ])('rejects %s at start-up with the file named', (_l, content, message) => {
    const p = file(content);
    expect(() => loadRoleCatalog(p)).toThrow(message);
    expect(() => loadRoleCatalog(p)).toThrow(p);
  });

  it('says when the file cannot be read', () => {
    expect(() => loadRoleCatalog('/nonexistent/roles.yml')).toThrow(/cannot be read/);
  });
});
