// Slack's side of bench/slack-ack, in a worker thread of its own: the fake Slack Web API
// (which receives the app's `respond` posts) and the client sending signed slash commands.
// In production both are remote; sharing the app's thread, their work (parsing each
// answer's blocks, signing and timing requests) was counted as the app's event-loop delay.
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { slashCommand } from '../test/support/slack-requests.js';

/** Messages from the bench's thread. */
export type PeerCommand =
  { cmd: 'run'; port: number; text: string; userId: string; concurrency: number; count: number } | { cmd: 'responds' } | { cmd: 'reset' } | { cmd: 'close' };

const { secret } = workerData as { secret: string };
const fake = await startFakeSlack();

function post(agent: Agent, port: number, body: string): Promise<number> {
  const ts = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/slack/events',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-slack-request-timestamp': ts,
          'x-slack-signature': signature,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `count` signed commands, `concurrency` at a time over keep-alive connections; latencies in ms. */
async function run(c: Extract<PeerCommand, { cmd: 'run' }>): Promise<number[]> {
  const bodies = Array.from({ length: c.count }, () => slashCommand({ text: c.text, userId: c.userId, responseUrl: fake.responseUrl() }));
  const agent = new Agent({ keepAlive: true, maxSockets: c.concurrency });
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: c.concurrency }, async () => {
      while (next < bodies.length) times.push(await post(agent, c.port, bodies[next++]!));
    }),
  );
  agent.destroy();
  return times;
}

parentPort!.on('message', (c: PeerCommand) => {
  const reply = (work: () => unknown) =>
    Promise.resolve()
      .then(work)
      .then(
        (value) => parentPort!.postMessage({ value }),
        (e: unknown) => parentPort!.postMessage({ error: String(e) }),
      );
  if (c.cmd === 'run') void reply(() => run(c));
  else if (c.cmd === 'responds') void reply(() => fake.callsOf('respond').length);
  else if (c.cmd === 'reset') void reply(() => fake.reset());
  else void reply(async () => fake.close());
});
parentPort!.postMessage({ value: fake.url });
