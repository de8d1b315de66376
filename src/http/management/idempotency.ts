import { createHash } from 'node:crypto';
import type { Core } from '../../core.js';
import type { KeyRecord } from '../../keys/key-record.js';
import { generateKeyId } from '../../keys/token.js';
import type { IdempotencyRepository } from '../../store/idempotency-repository.js';
import { HttpError } from '../errors.js';

const IDEMPOTENCY_KEY = /^[!-~]{1,255}$/;
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

export type IdempotentCreate =
  /** This request creates, with this keyId; call `abandon` if the create fails. */
  | { first: true; keyId: string; abandon(): Promise<void> }
  /** A repeat: the key the first request created. */
  | { first: false; key: KeyRecord };

/**
 * Decides which of the requests carrying one `Idempotency-Key` creates the key: each tries to
 * insert a record whose `_id` is derived from (community, admin token, idempotency key); the
 * unique `_id` lets exactly one insert succeed, on MongoDB and FerretDB alike. The winner
 * creates the key under the keyId it recorded; a repeat reads that key back (no secret).
 */
export async function decideCreate(
  core: Core,
  records: IdempotencyRepository,
  communityId: string,
  tokenId: string,
  idempotencyKey: string,
  body: Buffer,
): Promise<IdempotentCreate> {
  if (!IDEMPOTENCY_KEY.test(idempotencyKey)) throw new HttpError(400, 'invalid_request', 'Idempotency-Key must be 1–255 printable ASCII characters.');
  const id = sha256(`${communityId}\n${tokenId}\n${idempotencyKey}`);
  const bodyHash = sha256(body);
  const keyId = generateKeyId();
  if (await records.claim({ id, communityId, keyId, bodyHash, createdAt: new Date(core.clock.now()) })) {
    return { first: true, keyId, abandon: () => records.release(id).catch(() => undefined) };
  }
  const prior = await records.find(id);
  if (!prior) throw new HttpError(409, 'conflict', 'A request with this Idempotency-Key failed just now; retry it.');
  if (prior.bodyHash !== bodyHash)
    throw new HttpError(409, 'conflict', 'This Idempotency-Key was used with a different body; use a new key for a different request.');
  const key = await core.keyRepo.find(communityId, prior.keyId);
  if (!key) throw new HttpError(409, 'conflict', 'The first request with this Idempotency-Key is still being processed; retry in a moment.');
  return { first: false, key };
}
