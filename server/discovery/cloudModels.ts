// The cloud providers' model lists, fetched in the background and cached with a TTL.
// Discovery never blocks start-up or a request: `get` answers from the cache at once, and a
// stale entry is refreshed behind the caller's back. An unreachable or unauthorised provider
// is remembered with the reason so the UI can say why its models are missing.
import { humanDuration } from '../../protocol/humanTime';
import type { FailureKind } from '../../protocol/types';
import {
  isProviderError,
  nullLogger,
  systemClock,
  type Clock,
  type Logger,
  type Provider,
  type ProviderModel,
} from '../core/types';

export const CLOUD_MODELS_TTL_MS = 5 * 60_000;
/** One slow provider must not hold the others' lists back. */
export const CLOUD_LIST_TIMEOUT_MS = 10_000;

export interface CloudModelsEntry {
  models: ProviderModel[];
  error?: { kind: FailureKind; message: string };
  /** When the last attempt finished (ms, the deps' clock). */
  at?: number;
}

export interface CloudModelCatalogDeps {
  providers: () => Provider[];
  ttlMs?: number;
  timeoutMs?: number;
  onChange?: () => void;
  logger?: Logger;
  clock?: Clock;
}

export class CloudModelCatalog {
  private readonly entries = new Map<string, CloudModelsEntry>();
  /** Each listing's models by name; a new listing is a new entry, so an index never goes stale. */
  private readonly indexes = new WeakMap<CloudModelsEntry, Map<string, ProviderModel>>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(private readonly deps: CloudModelCatalogDeps) {
    this.ttlMs = deps.ttlMs ?? CLOUD_MODELS_TTL_MS;
    this.timeoutMs = deps.timeoutMs ?? CLOUD_LIST_TIMEOUT_MS;
    this.logger = deps.logger ?? nullLogger;
    this.clock = deps.clock ?? systemClock;
  }

  /**
   * Refresh every provider that lists models (only the stale ones unless `force`), all in
   * parallel. Resolves when they are done; never rejects. Providers no longer configured are
   * forgotten.
   */
  async refresh(force = false): Promise<void> {
    const providers = this.deps.providers().filter((p) => p.kind === 'cloud' && typeof p.listModels === 'function');
    const ids = new Set(providers.map((p) => p.id));
    for (const id of [...this.entries.keys()]) if (!ids.has(id)) this.entries.delete(id);
    await Promise.all(providers.filter((p) => force || this.isStale(p.id)).map((p) => this.refreshOne(p)));
  }

  /** The cached list (possibly stale: a refresh is then started in the background). */
  /** One listed model by name, through an index made once per listing (every request asks, issue 21). */
  model(providerId: string, name: string): ProviderModel | undefined {
    const entry = this.get(providerId);
    if (!entry) return undefined;
    let index = this.indexes.get(entry);
    if (!index) {
      index = new Map(entry.models.map((m) => [m.name, m]));
      this.indexes.set(entry, index);
    }
    return index.get(name);
  }

  get(providerId: string): CloudModelsEntry | undefined {
    const entry = this.entries.get(providerId);
    if (entry && this.isStale(providerId)) {
      const p = this.deps.providers().find((x) => x.id === providerId);
      if (p?.listModels) void this.refreshOne(p);
    }
    return entry;
  }

  private isStale(id: string): boolean {
    const at = this.entries.get(id)?.at;
    return at === undefined || this.clock.now() - at >= this.ttlMs;
  }

  /** One list call per provider at a time: a second caller shares the first's promise. */
  private refreshOne(p: Provider): Promise<void> {
    const running = this.inFlight.get(p.id);
    if (running) return running;
    const task = this.fetch(p).finally(() => this.inFlight.delete(p.id));
    this.inFlight.set(p.id, task);
    return task;
  }

  private async fetch(p: Provider): Promise<void> {
    const ac = new AbortController();
    const timer = this.clock.setTimeout(
      () => ac.abort(new Error(`listing models took longer than ${humanDuration(this.timeoutMs)}`)),
      this.timeoutMs,
    );
    let next: CloudModelsEntry;
    try {
      const list = p.listModels ? p.listModels(ac.signal) : Promise.resolve([]);
      // Race the signal too: a provider that ignores it must still not hang discovery.
      const models = await Promise.race([list, abortPromise(ac.signal)]);
      // By code unit, not localeCompare: a collator pages ICU data into an idle daemon (issue 21).
      next = {
        models: [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
        at: this.clock.now(),
      };
    } catch (e) {
      const error = classify(e, ac.signal.aborted);
      this.logger.warn(`models of provider ${p.id} unavailable (${error.kind}): ${error.message}`);
      // Keep the last good list: an outage does not make the models disappear from the UI.
      next = { models: this.entries.get(p.id)?.models ?? [], error, at: this.clock.now() };
    } finally {
      this.clock.clearTimeout(timer);
    }
    const prev = this.entries.get(p.id);
    this.entries.set(p.id, next);
    if (!sameEntry(prev, next)) {
      try {
        this.deps.onChange?.();
      } catch (e) {
        this.logger.error(`modelsChanged listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function classify(e: unknown, timedOut: boolean): { kind: FailureKind; message: string } {
  if (timedOut) return { kind: 'timeout', message: e instanceof Error ? e.message : 'listing models timed out' };
  if (isProviderError(e)) return { kind: e.kind, message: e.message };
  return { kind: 'unknown', message: e instanceof Error ? e.message : String(e) };
}

function sameEntry(a: CloudModelsEntry | undefined, b: CloudModelsEntry): boolean {
  if (!a) return false;
  return (
    JSON.stringify(a.models) === JSON.stringify(b.models) &&
    a.error?.kind === b.error?.kind &&
    a.error?.message === b.error?.message
  );
}
