// Which models a gateway request tries, in the conventions OpenAI-compatible users already know:
// OpenRouter's `models` (the whole ordered chain) and `fallbacks` (tried after `model`); an empty
// list means "no fallback". `backstop` is the configured chain, `chain:<name>` (or a chain's bare
// name) a named chain, and any other id goes first, followed by the configured chain. The configured
// chain is the purpose's (purposes.gateway.chain, or the one x-backstop-purpose names), else the main one.
import type { Purpose } from '../../protocol/enums';
import type { Services } from '../app/services';
import { purposeChain } from '../core/purposeStats';
import type { CompletionService } from '../usecases/completions';

export interface ChainRequest {
  model: string;
  /** The request's purpose (x-backstop-purpose, default gateway): "backstop" is that purpose's chain. */
  purpose?: Purpose;
  models?: string[];
  fallbacks?: string[];
}

export function chainFor(s: Services, completions: CompletionService, body: ChainRequest): string[] {
  const cfg = s.state.config;
  const main = purposeChain(cfg, body.purpose ?? 'gateway');
  const named = (m: string) =>
    m === 'backstop' ? undefined : m.startsWith('chain:') ? m : cfg.chains[m] ? `chain:${m}` : undefined;
  let raw: string[];
  if (body.models !== undefined) raw = body.models.length ? body.models : [body.model];
  else if (body.fallbacks !== undefined) raw = [body.model, ...body.fallbacks];
  else if (body.model === 'backstop') raw = main;
  else raw = named(body.model) ? [named(body.model)!] : [body.model, ...main];
  // "backstop" inside a list stands for the configured chain at that place.
  return completions.resolveChain(raw.flatMap((m) => (m === 'backstop' ? main : [named(m) ?? m])));
}
