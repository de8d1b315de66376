import type { Logger } from '../log.js';
import type { DependentRepository } from '../store/dependent-repository.js';
import { sealedWith, type SecretBox } from './secret-box.js';

/**
 * Run at every start, before serving: makes the stored webhook signing secrets agree with
 * SECRETS_KEY, or refuses to start with one line saying why.
 * - Key set: every secret not sealed with the first key (plain text from before the key
 *   was set, or sealed with an older key) is sealed with it; a secret sealed with a key id
 *   SECRETS_KEY does not hold stops the start.
 * - Key unset: plain text is kept, with a warning; any sealed secret stops the start
 *   (without the key no webhook could be signed).
 */
export async function prepareSecrets(repo: DependentRepository, box: SecretBox, log: Logger): Promise<void> {
  const stored = await repo.storedSecrets();
  const byKey = new Map<string, number>();
  let plain = 0;
  for (const s of stored) {
    const id = sealedWith(s.signingSecret);
    if (id === undefined) plain++;
    else byKey.set(id, (byKey.get(id) ?? 0) + 1);
  }
  const primary = box.primaryKeyId;
  const sealedCount = [...byKey.values()].reduce((a, b) => a + b, 0);
  if (!primary) {
    if (sealedCount > 0) {
      throw new Error(
        `SECRETS_KEY is unset, but ${sealedCount} webhook signing secret${sealedCount === 1 ? ' is' : 's are'} encrypted (key id ${[...byKey.keys()].join(', ')}); set SECRETS_KEY to the key that encrypted them`,
      );
    }
    log.warn({ plainSecrets: plain }, 'SECRETS_KEY is unset: webhook signing secrets are stored in plain text');
    return;
  }
  const known = new Set(box.keys.map((k) => k.id));
  const missing = [...byKey.keys()].filter((id) => !known.has(id));
  if (missing.length) {
    throw new Error(
      `SECRETS_KEY lacks key id ${missing.join(', ')}, which encrypted ${missing.reduce((n, id) => n + (byKey.get(id) ?? 0), 0)} webhook signing secrets; add it after the new key`,
    );
  }
  const todo = stored.filter((s) => sealedWith(s.signingSecret) !== primary);
  for (const s of todo) await repo.reseal(s.dependentId, s.signingSecret);
  if (todo.length) log.info({ resealed: todo.length, keyId: primary }, 'webhook signing secrets encrypted with the first SECRETS_KEY');
}
