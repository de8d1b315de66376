/**
 * How long a spawned process (tsx loading TypeScript cold, connecting to MongoDB and Redis)
 * may take to say it is ready. Measured in seconds on a loaded 2-core machine, so this is
 * generous: it bounds a start, never a behaviour under test.
 */
export const PROCESS_START_MS = 90_000;

/** A hook or test that starts processes (in parallel) and then does a little more. */
export const WITH_START_MS = PROCESS_START_MS + 30_000;
