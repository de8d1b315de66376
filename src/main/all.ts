// `npm start`: bot, HTTP API and workers in one process.
import { startApi, startWorkerParts } from '../app.js';
import { run } from './run.js';

await run('all', async (core) => [...(await startWorkerParts(core)), ...(await startApi(core))]);
