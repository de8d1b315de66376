// `npm run bench`: every benchmark in turn, each printing its figures next to a baseline
// measured in the same run. `npm run bench -- verify` runs one. Needs MONGODB_URI (else an
// embedded server) and REDIS_URL like the tests.
const benches: Record<string, () => Promise<{ main(): Promise<void> }>> = {
  verify: () => import('./verify.js'),
  'slack-ack': () => import('./slack-ack.js'),
  'revocation-fanout': () => import('./revocation-fanout.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  const load = benches[name];
  if (!load) throw new Error(`unknown bench ${name}; one of ${Object.keys(benches).join(', ')}`);
  console.log(`\n== ${name} ==`);
  await (await load()).main();
}
process.exit(0);
