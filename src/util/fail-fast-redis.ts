import { Redis } from 'ioredis';

/**
 * A Redis connection for calls that must not wait while Redis is down (the revocation
 * announcer, the key directory): opened on first use, no offline queue, one retry, 1 s to
 * connect and per command, reconnecting every 0.2–2 s in the background. Its callers decide
 * what a failure means and log it; attach an `error` listener (ioredis emits reconnect errors).
 */
export function failFastRedis(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
