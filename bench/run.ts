// `npm run bench`: every benchmark in turn, each printing its figures next to a baseline
// measured in the same run. `npm run bench -- verify` runs one. MONGODB_URI and REDIS_URL as
// for the tests (unset: started for the run).
import { ensureBenchServices } from './services.js';

const benches: Record<string, () => Promise<{ main(): Promise<void> }>> = {
  verify: () => import('./verify.js'),
  'slack-ack': () => import('./slack-ack.js'),
  fanout: () => import('./revocation-fanout.js'),
  'leak-alert': () => import('./leak-alert.js'),
  management: () => import('./management.js'),
  'verify-instructions': () => import('./verify-instructions.js'),
};

const stopServices = await ensureBenchServices();
/** Older names still accepted. */
const aliases: Record<string, string> = { 'revocation-fanout': 'fanout' };
const wanted = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('-'))
  .map((a) => aliases[a] ?? a);
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  const load = benches[name];
  if (!load) throw new Error(`unknown bench ${name}; one of ${Object.keys(benches).join(', ')}`);
  console.log(`\n== ${name} ==`);
  await (await load()).main();
}
await stopServices();
process.exit(0);
