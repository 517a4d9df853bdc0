// Providers built from configuration, rebuilt when it changes; model ids resolved to a provider.
import os from 'node:os';
import path from 'node:path';
import type { Config, LocalProviderConfig } from '../../protocol/config';
import { formatModelId, parseModelId } from '../../protocol/modelId';
import type { ResolvedModel } from '../core/engine';
import { isProviderError, type Logger, type Provider, ProviderError } from '../core/types';
import type { LocalModelEntry } from '../discovery/localScan';
import type { RateLimiter } from '../shared/rateLimiter';
import { limitedProvider } from '../shared/limitedProvider';
import { createCloudProvider } from './cloud';
import { LocalProvider } from './local';

export interface RegistryDeps {
  logger: Logger;
  /** Remove every key ever held from a text (the daemon logger's redactor). */
  redact(text: string): string;
  apiKey(providerId: string): string | undefined;
  localEntry(providerId: string, name: string): LocalModelEntry | undefined;
  localDirs(providerId: string): string[];
  cloudContextLength(providerId: string, name: string): number | undefined;
  threads(): number;
  totalMemoryBytes(): number;
  estimateBytes?(modelId: string, contextSize: number): number | undefined;
  budgetBytes?(modelId: string): number;
  /** Keeps providers with a `rateLimit` under it (shared by the team through Redis when configured). */
  rateLimiter?: RateLimiter;
}

export function workerPath(): string {
  // dist/cli.js and dist/localWorker.js sit side by side.
  return process.env.BACKSTOP_WORKER ?? path.join(__dirname, 'localWorker.js');
}

export class ProviderRegistry {
  private providers = new Map<string, Provider>();
  private config: Config | undefined;

  constructor(private readonly deps: RegistryDeps) {}

  apply(config: Config): void {
    this.config = config;
    const next = new Map<string, Provider>();
    for (const p of config.providers) {
      const old = this.providers.get(p.id);
      if (p.type === 'local') {
        if (old instanceof LocalProvider) {
          old.updateConfig(p);
          next.set(p.id, old);
        } else next.set(p.id, this.makeLocal(p));
      } else {
        const cloud = redacting(
          createCloudProvider(p, { getApiKey: () => this.deps.apiKey(p.id), logger: this.deps.logger }),
          this.deps.redact,
        );
        const limiter = this.deps.rateLimiter;
        next.set(p.id, p.rateLimit && limiter ? limitedProvider(cloud, p.rateLimit, limiter) : cloud);
      }
    }
    for (const [id, old] of this.providers) if (next.get(id) !== old) void old.dispose?.();
    this.providers = next;
  }

  private makeLocal(p: LocalProviderConfig): LocalProvider {
    return new LocalProvider(p.id, p, {
      resolve: (name) => this.deps.localEntry(p.id, name),
      searched: () => this.deps.localDirs(p.id),
      workerPath: workerPath(),
      threads: () => this.deps.threads(),
      totalMemoryBytes: () => this.deps.totalMemoryBytes(),
      logger: this.deps.logger,
      estimateBytes: (name, ctx) => this.deps.estimateBytes?.(formatModelId(p.id, name), ctx),
      budgetBytes: () => this.deps.budgetBytes?.(formatModelId(p.id, 'x')) ?? Number.POSITIVE_INFINITY,
    });
  }

  get(id: string): Provider | undefined {
    return this.providers.get(id);
  }

  all(): Provider[] {
    return [...this.providers.values()];
  }

  /** `<providerId>/<name>` → the provider and what it needs; undefined when the provider is unknown. */
  resolve(modelId: string): ResolvedModel | undefined {
    const parsed = parseModelId(modelId);
    if (!parsed) return undefined;
    const { provider: pid, name } = parsed;
    const provider = this.providers.get(pid);
    if (!provider) return undefined;
    const override = this.config?.providers.find((p) => p.id === pid)?.modelInfo?.[name]?.contextLength;
    const ctx =
      override ??
      (provider.kind === 'local'
        ? this.deps.localEntry(pid, name)?.contextLength
        : this.deps.cloudContextLength(pid, name));
    return { id: modelId, provider, name, kind: provider.kind, ...(ctx !== undefined ? { contextLength: ctx } : {}) };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.all().map(async (p) => p.dispose?.()));
  }
}

export const physicalCoresGuess = (): number => Math.max(1, os.availableParallelism());

/** A last line of defence: every error a cloud provider throws is redacted with every key the daemon ever held. */
function redacting(p: Provider, redact: (t: string) => string): Provider {
  const clean = (e: unknown): unknown => {
    if (isProviderError(e)) {
      const msg = redact(e.message);
      return msg === e.message
        ? e
        : new ProviderError(e.kind, msg, {
            ...(e.status !== undefined ? { status: e.status } : {}),
            ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
          });
    }
    return e instanceof Error ? new Error(redact(e.message)) : e;
  };
  const wrapped: Provider = {
    id: p.id,
    type: p.type,
    kind: p.kind,
    ...(p.ignores ? { ignores: p.ignores } : {}),
    generate: (req, opts) =>
      p.generate(req, opts).catch((e: unknown) => {
        throw clean(e);
      }),
    ...(p.listModels
      ? {
          listModels: (signal: AbortSignal) =>
            p.listModels!(signal).catch((e: unknown) => {
              throw clean(e);
            }),
        }
      : {}),
    ...(p.dispose ? { dispose: () => p.dispose!() } : {}),
  };
  return wrapped;
}
