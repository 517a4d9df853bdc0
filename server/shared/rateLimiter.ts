// Provider rate limits (requests and tokens per minute) as token buckets: one bucket per provider and
// kind in Redis, taken from atomically by a Lua script on Redis's own clock, so every daemon of the
// team draws from the same budget; a bucket in memory when Redis is not configured or not answering.
import type Redis from 'ioredis';
import type { RateLimitConfig } from '../../protocol/config';

export const MINUTE_MS = 60_000;
/** Buckets expire a while after their last use (a full bucket carries no information). */
const BUCKET_TTL_MS = 2 * MINUTE_MS;

/**
 * KEYS[1] the bucket; ARGV: capacity per minute, cost, 1 = take even into debt (tokens counted after
 * the answer). Returns { 1 = taken, ms until `cost` would fit }.
 */
export const BUCKET_LUA = `
local cap = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local force = ARGV[3] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
local rate = cap / ${MINUTE_MS}
tokens = math.min(cap, tokens + math.max(0, now - at) * rate)
local ok = 0
if force or tokens >= cost then
  tokens = tokens - cost
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ${BUCKET_TTL_MS})
local need = cost
if ok == 1 then need = 0 end
return { ok, math.ceil(math.max(0, need - tokens) / rate) }
`;

export interface Take {
  ok: boolean;
  /** When not ok: how long until the bucket holds enough. */
  retryAfterMs: number;
}

/** The same bucket in memory (and the math the Lua script follows). */
export class LocalBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perMinute: number,
    now: number,
  ) {
    this.tokens = perMinute;
    this.at = now;
  }

  take(cost: number, now: number, force = false): Take {
    const rate = this.perMinute / MINUTE_MS;
    this.tokens = Math.min(this.perMinute, this.tokens + Math.max(0, now - this.at) * rate);
    this.at = now;
    if (force || this.tokens >= cost) {
      this.tokens -= cost;
      return { ok: true, retryAfterMs: 0 };
    }
    return { ok: false, retryAfterMs: Math.ceil((cost - this.tokens) / rate) };
  }
}

export interface RateLimiterDeps {
  now(): number;
  /** The team's Redis while it is connected. */
  redis(): { redis: Redis; prefix: string } | undefined;
  /** Redis failed a call: the caller goes on locally; this reports it (warn once). */
  onError(e: unknown): void;
}

type Kind = 'requests' | 'tokens';

export class RateLimiter {
  private readonly local = new Map<string, LocalBucket>();

  constructor(private readonly deps: RateLimiterDeps) {}

  /** May one more request go to this provider now? Tokens are checked for debt only (counted afterwards). */
  async admit(providerId: string, limit: RateLimitConfig): Promise<Take> {
    if (limit.requestsPerMinute) {
      const r = await this.take(providerId, 'requests', limit.requestsPerMinute, 1, false);
      if (!r.ok) return r;
    }
    // Costs nothing: refused only while earlier answers have put the bucket in debt.
    if (limit.tokensPerMinute) return this.take(providerId, 'tokens', limit.tokensPerMinute, 0, false);
    return { ok: true, retryAfterMs: 0 };
  }

  /** Count the tokens an answer used (into debt if need be: the next requests wait it out). */
  async spend(providerId: string, limit: RateLimitConfig, tokens: number): Promise<void> {
    if (limit.tokensPerMinute && tokens > 0) await this.take(providerId, 'tokens', limit.tokensPerMinute, tokens, true);
  }

  private async take(providerId: string, kind: Kind, perMinute: number, cost: number, force: boolean): Promise<Take> {
    const shared = this.deps.redis();
    if (shared) {
      try {
        const [ok, wait] = (await shared.redis.eval(
          BUCKET_LUA,
          1,
          `${shared.prefix}bucket:${kind}:${perMinute}:${providerId}`,
          perMinute,
          cost,
          force ? '1' : '0',
        )) as [number, number];
        return { ok: ok === 1, retryAfterMs: ok === 1 ? 0 : wait };
      } catch (e) {
        this.deps.onError(e);
      }
    }
    const key = `${kind}:${perMinute}:${providerId}`;
    let b = this.local.get(key);
    if (!b) this.local.set(key, (b = new LocalBucket(perMinute, this.deps.now())));
    return b.take(cost, this.deps.now(), force);
  }
}
