// Transitional: the gateway's entry to the completions use case until it holds the service itself.
import type { CompleteParams, CompleteResult } from '../../protocol/types';
import { requests } from '../../protocol/contract';
import { invalidParamsError, type CallContext } from '../rpc';
import type { Services } from '../services';
import { CompletionService, type CompletionHooks } from '../usecases/completions';

export type CompleteHooks = CompletionHooks;
export { MOCK_MODEL } from '../usecases/completions';

export function resolveChain(s: Services, requested: string[] | undefined): string[] {
  return new CompletionService(s).resolveChain(requested);
}

export function runComplete(
  s: Services,
  params: CompleteParams,
  ctx: CallContext,
  hooks: CompletionHooks = {},
): Promise<CompleteResult> {
  const r = requests.complete.params.safeParse(params);
  if (!r.success) return Promise.reject(invalidParamsError(r.error.issues));
  return new CompletionService(s).complete(r.data, ctx.signal, hooks);
}
