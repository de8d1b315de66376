// `npm run start:worker`: BullMQ workers and the sweeper; scale by queue depth.
import { startWorkerParts } from '../app.js';
import { run } from './run.js';

await run('worker', startWorkerParts);
