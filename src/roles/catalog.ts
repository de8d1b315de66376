import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

/** One role a key can be granted. */
export const roleSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]{1,29}$/, { message: 'role id must be 2-30 lowercase letters, digits or _' }),
  label: z.string().trim().min(1).max(42, { message: 'role label must be at most 42 characters' }),
});
export type Role = z.infer<typeof roleSchema>;

const catalogSchema = z
  .object({ roles: z.array(roleSchema).min(1, { message: 'at least one role is required' }).max(100, { message: 'at most 100 roles (Slack select limit)' }) })
  .refine((c) => new Set(c.roles.map((r) => r.id)).size === c.roles.length, { message: 'role ids must be unique' });

/** The role catalog: the shipped defaults or ROLES_FILE, validated at start-up. */
export class RoleCatalog {
  private readonly byId: Map<string, Role>;
  constructor(readonly roles: readonly Role[]) {
    this.byId = new Map(roles.map((r) => [r.id, r]));
  }
  has(id: string): boolean {
    return this.byId.has(id);
  }
  get(id: string): Role | undefined {
    return this.byId.get(id);
  }
  /** `ic_viewer - Intelligence Center Read-Only` (unknown ids, e.g. from an older catalog, show as the id). */
  display(id: string): string {
    const role = this.byId.get(id);
    return role ? `${role.id} - ${role.label}` : id;
  }
}

export const defaultRolesFile = fileURLToPath(new URL('./default-roles.yml', import.meta.url));

/** Loads and validates a catalog; throws with the file and the problem. */
export function loadRoleCatalog(file: string = defaultRolesFile): RoleCatalog {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`ROLES_FILE ${file} cannot be read: ${(e as Error).message}`);
  }
  const result = catalogSchema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new Error(`ROLES_FILE ${file} is invalid: ${first?.path.join('.') || 'roles'} ${first?.message}`);
  }
  return new RoleCatalog(result.data.roles);
}
