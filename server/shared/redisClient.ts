// One Redis connection set-up for team state: options from `state.redis` (URL, TLS, credentials from
// the environment), commands that fail at once while disconnected (never queued behind an outage),
// a timeout on every command, and reconnection in the background.
import fs from 'node:fs';
import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { RedisStateConfig } from '../../protocol/config';

/** Reconnect quickly after a blip, then every 2 s while Redis stays away. */
export const REDIS_RECONNECT_MAX_MS = 2000;
export const REDIS_CONNECT_TIMEOUT_MS = 2000;

export function redisOptions(cfg: RedisStateConfig, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  const opts: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: cfg.timeoutMs,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(100 * times, REDIS_RECONNECT_MAX_MS),
    // The daemon must exit when asked even while Redis is unreachable.
    lazyConnect: false,
  };
  const username = cfg.usernameEnv ? env[cfg.usernameEnv] : undefined;
  const password = cfg.passwordEnv ? env[cfg.passwordEnv] : undefined;
  if (username) opts.username = username;
  if (password) opts.password = password;
  if (cfg.tls || cfg.url.startsWith('rediss://')) {
    opts.tls = {
      rejectUnauthorized: cfg.tls?.rejectUnauthorized ?? true,
      ...(cfg.tls?.servername ? { servername: cfg.tls.servername } : {}),
      ...(cfg.tls?.caFile ? { ca: fs.readFileSync(cfg.tls.caFile) } : {}),
    };
  }
  return opts;
}

/** Where the daemon's team state lives, for messages: never the credentials. */
export function redisWhere(cfg: RedisStateConfig): string {
  try {
    const u = new URL(cfg.url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'the configured Redis';
  }
}

/** ioredis, loaded with the first connection: a daemon without `state.redis` never loads it (issue 21). */
let RedisClient: typeof Redis | undefined;

export function connectRedis(cfg: RedisStateConfig): Redis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load: esbuild bundles it and runs it here
  RedisClient ??= (require('ioredis') as { default: typeof Redis }).default;
  return new RedisClient(cfg.url, redisOptions(cfg));
}
