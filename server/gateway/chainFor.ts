// Which models a gateway request tries, in the conventions OpenAI-compatible users already know:
// OpenRouter's `models` (the whole ordered chain) and `fallbacks` (tried after `model`); an empty
// list means "no fallback". `backstop` is the configured chain, `chain:<name>` (or a chain's bare
// name) a named chain, and any other id goes first, followed by the configured chain.
import type { Services } from '../app/services';
import type { CompletionService } from '../usecases/completions';

export interface ChainRequest {
  model: string;
  models?: string[];
  fallbacks?: string[];
}

export function chainFor(s: Services, completions: CompletionService, body: ChainRequest): string[] {
  const cfg = s.state.config;
  const named = (m: string) =>
    m === 'backstop' ? undefined : m.startsWith('chain:') ? m : cfg.chains[m] ? `chain:${m}` : undefined;
  let raw: string[];
  if (body.models !== undefined) raw = body.models.length ? body.models : [body.model];
  else if (body.fallbacks !== undefined) raw = [body.model, ...body.fallbacks];
  else if (body.model === 'backstop') raw = cfg.chain;
  else raw = named(body.model) ? [named(body.model)!] : [body.model, ...cfg.chain];
  // "backstop" inside a list stands for the configured chain at that place.
  return completions.resolveChain(raw.flatMap((m) => (m === 'backstop' ? cfg.chain : [named(m) ?? m])));
}
