// A cloud provider kept under its configured rate limits: a request the bucket refuses never leaves
// the daemon; it fails as `rate_limited` with the wait, so the engine pauses the model (and tells the
// team) and falls over to the next one, exactly as for the provider's own 429.
import type { RateLimitConfig } from '../../protocol/config';
import { ProviderError, type Provider } from '../core/types';
import type { RateLimiter } from './rateLimiter';

export function limitedProvider(p: Provider, limit: RateLimitConfig, limiter: RateLimiter): Provider {
  return {
    id: p.id,
    type: p.type,
    kind: p.kind,
    ...(p.ignores ? { ignores: p.ignores } : {}),
    ...(p.listModels ? { listModels: (signal: AbortSignal) => p.listModels!(signal) } : {}),
    ...(p.countTokens ? { countTokens: p.countTokens.bind(p) } : {}),
    ...(p.dispose ? { dispose: () => p.dispose!() } : {}),
    generate: async (req, opts) => {
      const take = await limiter.admit(p.id, limit);
      if (!take.ok) {
        const per = limit.requestsPerMinute ? `${limit.requestsPerMinute} requests` : `${limit.tokensPerMinute} tokens`;
        throw new ProviderError('rate_limited', `rate limit of ${per} per minute for provider "${p.id}" reached`, {
          retryAfterMs: take.retryAfterMs,
        });
      }
      const result = await p.generate(req, opts);
      const used = result.usage.promptTokens + result.usage.completionTokens;
      void limiter.spend(p.id, limit, used).catch(() => undefined);
      return result;
    },
  };
}
