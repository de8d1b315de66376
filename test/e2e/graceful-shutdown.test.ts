import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core.js';
import { DeliveryRepository } from '../../src/store/delivery-repository.js';
import { actionIds } from '../../src/slack/ids.js';
import { startApp, type AppProcess } from '../support/app-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { freePort } from '../support/ports.js';
import { slow, startReceivers, type Receivers } from '../support/receivers.js';
import { captureLogger, mongoUriFor, redisUrl, testConfig, uniqueDbName } from '../support/services.js';
import { connectMongo, type Mongo } from '../../src/store/mongo.js';
import { blockAction, sendSigned } from '../support/slack-requests.js';
import { WITH_START_MS } from '../support/start-timeout.js';

const SECRET = 'shutdown-signing-secret';
const ADMIN = 'UADMIN1';
const DEPENDENTS = 6;
const GRACE_MS = 8_000;

/**
 * SIGTERM in the middle of a burst of verify requests and webhook deliveries: every request
 * already sent is answered, every job in flight finishes or goes back to the queue, and the
 * process exits 0 within its grace period. A fresh process then finishes what was left.
 */
describe('graceful shutdown of `npm start` (all parts in one process)', () => {
  let fake: FakeSlack;
  let receivers: Receivers;
  let mongo: Mongo;
  let core: Core;
  let app: AppProcess | undefined;
  let env: Record<string, string>;
  let token = '';
  let keyId = '';

  beforeAll(async () => {
    fake = await startFakeSlack();
    receivers = await startReceivers();
    const uri = mongoUriFor(uniqueDbName('shutdown'));
    env = {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-shutdown',
      SLACK_API_URL: fake.url,
      MONGODB_URI: uri,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: `test-${randomUUID()}`,
      ADMIN_SLACK_USER_IDS: ADMIN,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200,400',
      WEBHOOK_CONCURRENCY: '3',
      SWEEP_INTERVAL_MS: '500',
      SWEEP_GRACE_MS: '1000',
      JOB_LOCK_MS: '3000',
      JOB_STALLED_INTERVAL_MS: '1000',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'info',
    };
    // Set-up data through the domain on the same database; the process under test does the rest.
    mongo = await connectMongo(uri);
    core = createCore(testConfig({ ADMIN_SLACK_USER_IDS: ADMIN }), captureLogger().log, mongo);
    const actor = { communityId: 'T0TEST', userId: ADMIN };
    const created = await core.keys.create(actor, { name: 'shutdown key', description: 'used by the graceful shutdown test', roles: ['ic_viewer'] });
    ({ token } = created);
    keyId = created.key.keyId;
    for (let d = 0; d < DEPENDENTS; d++) {
      receivers.on(`/dep${d}`, slow(1_200));
      await core.dependents.link(actor, { keyId, kind: 'playbook', name: `dep ${d}`, url: receivers.url(`/dep${d}`) });
    }
    app = await startApp('all', 'all', { ...env, PORT: String(await freePort()) });
  }, WITH_START_MS);

  afterAll(async () => {
    await app?.kill();
    await mongo?.conn.dropDatabase().catch(() => undefined);
    await mongo?.close();
    await receivers?.close();
    await fake?.close();
  });

  it(
    'answers what it took, finishes or returns its jobs, exits 0 in time; nothing is lost',
    async () => {
      const a = app!;
      const port = Number(new URL(a.apiUrl).port);

      // Revoke through Slack: the worker in the same process starts the (slow) deliveries.
      const res = await sendSigned(
        a.url,
        blockAction({ userId: ADMIN, actionId: actionIds.revokeKey, value: keyId, container: { type: 'message' }, responseUrl: fake.responseUrl() }),
        { secret: SECRET },
      );
      expect(res.status).toBe(200);
      await receivers.waitUntil((r) => r.length >= 1, 15_000, 'the first delivery to be in flight');

      // 50 verify requests in flight: headers and half the body sent before SIGTERM, the rest after.
      const body = JSON.stringify({ key: token });
      const half = Math.floor(body.length / 2);
      const inflight = await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<{ socket: Socket; reply: Promise<string> }>((ok, fail) => {
              const socket = connect(port, '127.0.0.1', () => {
                socket.write(
                  `POST /v1/keys/verify HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
                );
                let text = '';
                socket.on('data', (d) => (text += d.toString()));
                ok({ socket, reply: new Promise((done) => socket.on('close', () => done(text))) });
              });
              socket.once('error', fail);
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 500));
      const stopping = a.stop();
      await new Promise((r) => setTimeout(r, 300));
      for (const { socket } of inflight) socket.write(body.slice(half));
      const replies = await Promise.all(inflight.map((x) => x.reply));
      const { code, ms } = await stopping;

      expect(code).toBe(0);
      expect(ms).toBeLessThan(GRACE_MS + 1_000);
      for (const reply of replies) {
        expect(reply, 'a request begun before SIGTERM must be answered').toMatch(/^HTTP\/1\.1 200 /);
        expect(reply).toContain('"reason":"revoked"');
      }
      expect(a.output()).toMatch(/"msg":"stopped"/);

      // Every delivery that had started was finished, none was cut off mid-request.
      const started = new Set(receivers.received.map((r) => r.path)).size;
      const states = await new DeliveryRepository(mongo.models).forKey(keyId);
      expect(started).toBeGreaterThan(0);
      expect(states.filter((d) => d.state === 'delivered').length).toBe(started);

      // A new process takes over whatever went back to the queue.
      app = await startApp('all-again', 'all', { ...env, PORT: String(await freePort()) });
      await receivers.waitUntil(
        (r) => Array.from({ length: DEPENDENTS }, (_, d) => `/dep${d}`).every((p) => r.some((x) => x.path === p)),
        30_000,
        'every dependent',
      );
      for (let d = 0; d < DEPENDENTS; d++) {
        expect(new Set(receivers.receivedOn(`/dep${d}`).map((x) => x.headers['webhook-id'])).size).toBe(1);
      }
    },
    WITH_START_MS + 30_000,
  );
});
