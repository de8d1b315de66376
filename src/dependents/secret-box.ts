import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** One encryption key of SECRETS_KEY: its id (stored beside every value) and 32 bytes. */
export interface SecretsKey {
  id: string;
  key: Buffer;
}

/** `enc:v1:<key id>:<iv>:<tag>:<ciphertext>`, the three last in base64url. */
const SEALED = /^enc:v1:([A-Za-z0-9_-]{1,32}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22}):([A-Za-z0-9_-]*)$/;

/** The reason a stored secret cannot be opened; start-up turns it into one line. */
export class SecretsKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsKeyError';
  }
}

/**
 * Webhook signing secrets at rest: AES-256-GCM with a random 96-bit IV per value, and the
 * record it belongs to (`context`, e.g. the dependent id) as additional data, so a value
 * copied onto another record does not open. The first key seals; every key opens, so keys
 * rotate by putting the new one first and keeping the old one until start-up has resealed
 * everything. Without keys it seals nothing (plain text; start-up warns).
 */
export class SecretBox {
  private readonly byId: Map<string, Buffer>;

  constructor(readonly keys: readonly SecretsKey[]) {
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key new values are sealed with; undefined when values stay plain text. */
  get primaryKeyId(): string | undefined {
    return this.keys[0]?.id;
  }

  seal(plaintext: string, context: string): string {
    const primary = this.keys[0];
    if (!primary) return plaintext;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', primary.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const b64 = (b: Buffer) => b.toString('base64url');
    return `enc:v1:${primary.id}:${b64(iv)}:${b64(cipher.getAuthTag())}:${b64(ciphertext)}`;
  }

  /** The plain value: opened when sealed, as it is when stored before a key was set. */
  open(stored: string, context: string): string {
    const m = SEALED.exec(stored);
    if (!m) {
      if (stored.startsWith('enc:')) throw new SecretsKeyError('a stored secret is damaged (not enc:v1:<key id>:<iv>:<tag>:<data>)');
      return stored;
    }
    const [, id, iv, tag, data] = m as unknown as [string, string, string, string, string];
    const key = this.byId.get(id);
    if (!key) throw new SecretsKeyError(`a stored secret is encrypted with key id "${id}", which SECRETS_KEY does not hold`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretsKeyError(`a stored secret does not open with key id "${id}" (wrong key, or the value was altered)`);
    }
  }
}

/** The key id a stored value was sealed with; undefined for plain text. */
export function sealedWith(stored: string): string | undefined {
  return stored.startsWith('enc:') ? (SEALED.exec(stored)?.[1] ?? '?') : undefined;
}

/**
 * Parses SECRETS_KEY: comma-separated `id:base64key` entries, each key 32 random bytes
 * (`openssl rand -base64 32`). Returns the problem as a string when it is malformed.
 */
export function parseSecretsKeys(raw: string): SecretsKey[] | string {
  const keys: SecretsKey[] = [];
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/]{43}=?)$/.exec(entry);
    if (!m) return 'must be comma-separated id:base64key entries, each key 32 bytes (e.g. k1:$(openssl rand -base64 32))';
    const key = Buffer.from(m[2]!, 'base64');
    if (key.length !== 32) return `key "${m[1]}" must be 32 bytes of base64`;
    if (keys.some((k) => k.id === m[1])) return `key id "${m[1]}" appears twice`;
    keys.push({ id: m[1]!, key });
  }
  return keys.length ? keys : 'must hold at least one id:base64key entry';
}
