// The headers that explain a gateway answer: which model served it, whether a fallback happened,
// how many attempts it took, and which request parameters the serving API could not honour.
import type { CompleteResult } from '../../protocol/types';

export function explainHeaders(r: CompleteResult): Record<string, string> {
  const first = r.attempts[0]?.model;
  return {
    'x-backstop-model': r.modelUsed,
    'x-backstop-fallback': r.fallbackOccurred && first ? `${first} -> ${r.modelUsed}` : 'none',
    'x-backstop-attempts': String(r.attempts.length),
    ...(r.ignoredParams?.length ? { 'x-backstop-ignored-params': r.ignoredParams.join(',') } : {}),
  };
}
