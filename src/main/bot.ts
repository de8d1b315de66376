// `npm run start:bot`: Slack and the HTTP API, no workers; run any number behind a load balancer.
import { startApi } from '../app.js';
import { run } from './run.js';

await run('bot', startApi);
