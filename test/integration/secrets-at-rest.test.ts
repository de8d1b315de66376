import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { prepareSecrets } from '../../src/dependents/secrets-at-rest.js';
import { startJobsStack, waitForNotificationDone, type JobsStack } from '../support/jobs-stack.js';
import { captureLogger, testConfig } from '../support/services.js';

const T = 'T0SECRETS';
const admin = { communityId: T, userId: 'UADMIN1' };
const b64 = () => randomBytes(32).toString('base64');
const K1 = `k1:${b64()}`;
const K2 = `k2:${b64()}`;
const logs = captureLogger('debug');
let stack: JobsStack;

beforeAll(async () => {
  stack = await startJobsStack('secretsatrest', logs.log, { SECRETS_KEY: K1 });
});
afterAll(() => stack?.close());

/** A core on the same database with another SECRETS_KEY (or none), as another process would have. */
const coreWith = (secretsKey: string | undefined): Core =>
  createCore(testConfig({ QUEUE_PREFIX: stack.config.QUEUE_PREFIX, SECRETS_KEY: secretsKey ?? '' }), logs.log, stack.mongo);

const storedSecrets = async () => (await stack.mongo.conn.db!.collection('dependents').find({}).toArray()).map((d) => String(d.signingSecret));
const dbText = async () => JSON.stringify(await stack.mongo.conn.db!.collection('dependents').find({}).toArray());

/** Links a dependent through `core`, revokes the key through the stack, and checks the webhook verifies with the secret given at link time. */
async function linkRevokeAndVerify(core: Core, label: string, afterLink?: () => Promise<void>) {
  const { key } = await core.keys.create(admin, { name: `${label} key`, description: `Secrets at rest: ${label}`, roles: ['ic_viewer'] });
  stack.receivers.on(`/${label}`, () => ({ status: 200 }));
  const { secret } = await core.dependents.link(admin, {
    keyId: key.keyId,
    kind: 'playbook',
    name: `${label} receiver`,
    url: stack.receivers.url(`/${label}`),
  });
  await afterLink?.();
  await stack.core.keys.revoke(admin, key.keyId);
  await waitForNotificationDone(stack.core, key.keyId);
  const [req] = stack.receivers.receivedOn(`/${label}`);
  const headers = {
    'webhook-id': String(req!.headers['webhook-id']),
    'webhook-timestamp': String(req!.headers['webhook-timestamp']),
    'webhook-signature': String(req!.headers['webhook-signature']),
  };
  expect(new Webhook(secret).verify(req!.body, headers)).toMatchObject({ type: 'api_key.revoked', data: { keyId: key.keyId } });
  return secret;
}

describe('webhook signing secrets at rest', () => {
  it("with SECRETS_KEY set, the database holds no secret in plain text, and deliveries still verify with the receiver's secret", async () => {
    const secret = await linkRevokeAndVerify(stack.core, 'sealed');
    const text = await dbText();
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice('whsec_'.length, 'whsec_'.length + 12));
    expect(text).not.toContain('whsec_');
    expect(await storedSecrets()).toEqual([expect.stringMatching(/^enc:v1:k1:/)]);
    expect(logs.text()).not.toContain(secret);
  });

  it('plain text stored before the key was set is encrypted at the next start, and still signs', async () => {
    const secret = await linkRevokeAndVerify(coreWith(undefined), 'legacy', async () => {
      expect(await storedSecrets()).toContainEqual(expect.stringMatching(/^whsec_/)); // stored by a process without the key
      await prepareSecrets(stack.core.dependentRepo, stack.core.secrets, logs.log);
      expect((await storedSecrets()).every((s) => s.startsWith('enc:v1:k1:'))).toBe(true);
    });
    expect(await dbText()).not.toContain(secret);
  });

  it('rotates: with a new key first, start-up re-encrypts everything under it, and the old key can then go', async () => {
    await prepareSecrets(coreWith(`${K2},${K1}`).dependentRepo, coreWith(`${K2},${K1}`).secrets, logs.log);
    expect((await storedSecrets()).every((s) => s.startsWith('enc:v1:k2:'))).toBe(true);
    const onlyNew = coreWith(K2);
    await expect(prepareSecrets(onlyNew.dependentRepo, onlyNew.secrets, logs.log)).resolves.toBeUndefined();
    const anyDependent = (await stack.mongo.conn.db!.collection('dependents').findOne({}))!;
    expect((await onlyNew.dependentRepo.findForSigning(String(anyDependent.dependentId)))?.signingSecret).toMatch(/^whsec_/);
  });

  it('refuses to start without the key once a secret is encrypted, or with a key set lacking the one used', async () => {
    const none = coreWith(undefined);
    await expect(prepareSecrets(none.dependentRepo, none.secrets, logs.log)).rejects.toThrow(
      /^SECRETS_KEY is unset, but \d+ webhook signing secrets are encrypted \(key id k2\); set SECRETS_KEY/,
    );
    const wrong = coreWith(`k3:${b64()}`);
    await expect(prepareSecrets(wrong.dependentRepo, wrong.secrets, logs.log)).rejects.toThrow(/^SECRETS_KEY lacks key id k2/);
  });
});
