// Every model the daemon knows, local and cloud, as protocol ModelInfo: discovery results joined
// with health, fit estimates and benchmarks. Scans run in the background; readers get the cache.
import os from 'node:os';
import type { CloudProviderType, Config } from '../../protocol/config';
import { splitModelId } from '../../protocol/modelId';
import type { Availability, Capability, ModelFit, ModelInfo } from '../../protocol/types';
import type { Logger, Provider } from '../core/types';
import type { HealthRegistry } from '../core/health';
import type { BenchmarkStore } from '../benchmark/benchmark';
import { CloudModelCatalog } from './cloudModels';
import { discoveredModelId } from './discoveredId';
import { type LocalModelEntry, scanLocalModels, wellKnownDirs } from './localScan';
import { ModelWatcher } from './watcher';
import { estimateFit } from '../system/fit';
import { expandHome } from '../state/paths';
import type { SystemSnapshot } from '../../protocol/types';
import { WIRE_FORMATS } from '../providers/wireFormats';
import { familyCapabilities } from './modelFamilies';

export interface CatalogDeps {
  config(): Config;
  providers(): Provider[];
  health: HealthRegistry;
  benchmarks: BenchmarkStore;
  system(): SystemSnapshot;
  logger: Logger;
  onChange(models: ModelInfo[], added: string[], removed: string[]): void;
  /** Tests point the well-known folders at a temp home. */
  homeDir?: string;
}

export class ModelCatalog {
  private local = new Map<string, LocalModelEntry[]>();
  private fits = new Map<string, ModelFit>();
  private watcher: ModelWatcher | undefined;
  private scanning: Promise<void> | undefined;
  private rescanRequested = false;
  private lastIds = new Set<string>();
  /** Cloud model names already reported as unusable as ids (list() runs often; say it once). */
  private readonly skippedNames = new Set<string>();
  readonly cloud: CloudModelCatalog;

  constructor(private readonly deps: CatalogDeps) {
    this.cloud = new CloudModelCatalog({
      providers: () => deps.providers().filter((p) => p.kind === 'cloud'),
      logger: deps.logger,
      onChange: () => this.emitIfChanged(true),
    });
  }

  /** Folders scanned for one local provider: its modelsDirs plus the enabled well-known places. */
  dirsFor(providerId: string): string[] {
    const p = this.deps.config().providers.find((x) => x.id === providerId);
    if (!p || p.type !== 'local') return [];
    return [...(p.modelsDirs ?? []).map(expandHome), ...wellKnownDirs(this.deps.homeDir ?? os.homedir(), p.scan)];
  }

  start(): void {
    void this.rescan();
    void this.cloud.refresh();
    this.restartWatcher();
  }

  restartWatcher(): void {
    this.watcher?.close();
    const dirs = this.deps.config().providers.flatMap((p) => (p.type === 'local' ? this.dirsFor(p.id) : []));
    if (!dirs.length) return;
    this.watcher = new ModelWatcher(dirs, () => void this.rescan());
    this.watcher.start();
  }

  /** Rescan local folders; concurrent calls coalesce into one extra pass. */
  rescan(): Promise<void> {
    if (this.scanning) {
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescanRequested = false;
        await this.scanOnce();
      } while (this.rescanRequested);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const next = new Map<string, LocalModelEntry[]>();
    for (const p of this.deps.config().providers) {
      if (p.type !== 'local') continue;
      try {
        const opts = {
          modelsDirs: (p.modelsDirs ?? []).map(expandHome),
          providerId: p.id,
          logger: this.deps.logger,
          ...(p.scan ? { scan: p.scan } : {}),
          ...(this.deps.homeDir ? { homeDir: this.deps.homeDir } : {}),
        };
        next.set(p.id, await scanLocalModels(opts));
      } catch (e) {
        this.deps.logger.warn(`scanning models of ${p.id} failed: ${(e as Error).message}`);
        next.set(p.id, this.local.get(p.id) ?? []);
      }
    }
    this.local = next;
    this.emitIfChanged(false);
    void this.updateFits();
  }

  private async updateFits(): Promise<void> {
    const sys = this.deps.system();
    let changed = false;
    for (const [pid, entries] of this.local) {
      const p = this.deps.config().providers.find((x) => x.id === pid);
      const ctx = p?.type === 'local' ? p.contextSize : undefined;
      for (const e of entries) {
        if (!e.ok) continue;
        try {
          const gpuFree = sys.gpus.reduce((a, g) => a + (g.vramFreeBytes ?? 0), 0);
          const fit = await estimateFit(e.path, {
            freeRamBytes: sys.memory.availableBytes,
            gpu: sys.gpus.length > 0,
            ...(gpuFree ? { freeVramBytes: gpuFree } : {}),
            ...(ctx !== undefined ? { contextSize: ctx } : {}),
          });
          const prev = this.fits.get(e.id);
          if (!prev || prev.fits !== fit.fits || prev.estimatedRamBytes !== fit.estimatedRamBytes) changed = true;
          this.fits.set(e.id, fit);
        } catch (err) {
          this.deps.logger.debug(`fit estimate for ${e.id} failed: ${(err as Error).message}`);
        }
      }
    }
    if (changed) this.emitIfChanged(true);
  }

  localEntry(providerId: string, name: string): LocalModelEntry | undefined {
    return this.local.get(providerId)?.find((e) => e.name === name);
  }

  localEntries(): LocalModelEntry[] {
    return [...this.local.values()].flat();
  }

  cloudContextLength(providerId: string, name: string): number | undefined {
    return this.cloud.model(providerId, name)?.contextLength;
  }

  fit(id: string): ModelFit | undefined {
    return this.fits.get(id);
  }

  /** What a model can do, as the engine sees it (undefined: unknown, so every request may try it). */
  capabilitiesOf(providerId: string, name: string): Capability[] | undefined {
    const p = this.deps.config().providers.find((x) => x.id === providerId);
    if (!p) return undefined;
    const over = p.modelInfo?.[name]?.capabilities;
    if (p.type === 'local') return over ?? this.localEntry(providerId, name)?.capabilities;
    const listed = this.cloud.model(providerId, name)?.capabilities;
    return cloudCapabilities(p.type, name, over ?? listed);
  }

  /** All models: discovered, configured and named in the chain (so a missing primary is listed as missing). */
  list(): ModelInfo[] {
    const cfg = this.deps.config();
    const out = new Map<string, ModelInfo>();
    for (const [pid, entries] of this.local) for (const e of entries) out.set(e.id, this.fromLocal(pid, e));
    for (const p of cfg.providers) {
      if (p.type === 'local') continue;
      const listed = this.cloud.get(p.id);
      const names = new Set([...(p.models ?? []), ...(listed?.models.map((m) => m.name) ?? [])]);
      for (const name of names) {
        const id = discoveredModelId(p.id, name, (why) => this.skipOnce(p.id, name, why));
        if (id === undefined) continue;
        const lm = this.cloud.model(p.id, name);
        const over = p.modelInfo?.[name];
        const caps = cloudCapabilities(p.type, name, over?.capabilities ?? lm?.capabilities);
        const availability: Availability =
          listed?.error &&
          (listed.error.kind === 'network' || listed.error.kind === 'auth' || listed.error.kind === 'timeout')
            ? 'unreachable'
            : 'ready';
        const ctx = over?.contextLength ?? lm?.contextLength;
        out.set(
          id,
          this.decorate({
            id,
            provider: p.id,
            name,
            kind: 'cloud',
            availability,
            capabilities: caps,
            ...(availability !== 'ready' && listed?.error
              ? { reason: `${listed.error.kind}: ${listed.error.message}` }
              : {}),
            ...(ctx !== undefined ? { contextLength: ctx } : {}),
            ...(lm?.parameters ? { parameters: lm.parameters } : {}),
            ...(lm?.sizeBytes !== undefined ? { sizeBytes: lm.sizeBytes } : {}),
          }),
        );
      }
    }
    for (const id of cfg.chain) {
      if (out.has(id)) continue;
      const { provider: pid, name } = splitModelId(id);
      const p = cfg.providers.find((x) => x.id === pid);
      const local = p?.type === 'local';
      const listed = p && !local ? this.cloud.get(pid) : undefined;
      const availability: Availability = !p || local ? 'missing' : listed?.error ? 'unreachable' : 'ready';
      out.set(
        id,
        this.decorate({
          id,
          provider: pid,
          name,
          kind: local ? 'local' : 'cloud',
          availability,
          capabilities:
            p && p.type !== 'local'
              ? cloudCapabilities(p.type, name, p.modelInfo?.[name]?.capabilities)
              : ['chat', 'completion'],
          ...(availability === 'missing' ? { reason: this.missingReason(pid, name, p !== undefined) } : {}),
          ...(availability === 'unreachable' && listed?.error
            ? { reason: `${listed.error.kind}: ${listed.error.message}` }
            : {}),
        }),
      );
    }
    return [...out.values()];
  }

  private missingReason(pid: string, name: string, configured: boolean): string {
    if (!configured) return `no provider "${pid}" is configured`;
    return `no GGUF file named ${name}.gguf in ${this.dirsFor(pid).join(', ') || '(no folders)'}`;
  }

  private skipOnce(pid: string, name: string, why: string): void {
    const key = JSON.stringify([pid, name]);
    if (this.skippedNames.has(key)) return;
    this.skippedNames.add(key);
    this.deps.logger.warn(why);
  }

  private fromLocal(pid: string, e: LocalModelEntry): ModelInfo {
    const fit = this.fits.get(e.id);
    return this.decorate({
      id: e.id,
      provider: pid,
      name: e.name,
      kind: 'local',
      availability: e.ok ? 'ready' : 'incompatible',
      ...(e.reason ? { reason: e.reason } : {}),
      capabilities: e.capabilities,
      sizeBytes: e.sizeBytes,
      path: e.path,
      ...(e.contextLength !== undefined ? { contextLength: e.contextLength } : {}),
      ...(e.parameters ? { parameters: e.parameters } : {}),
      ...(e.quantization ? { quantization: e.quantization } : {}),
      ...(e.architecture ? { architecture: e.architecture } : {}),
      ...(e.sourceUrl ? { sourceUrl: e.sourceUrl } : {}),
      ...(fit ? { fit } : {}),
    });
  }

  private decorate(m: Omit<ModelInfo, 'health'>): ModelInfo {
    const health = this.deps.health.get(m.id);
    const bench = this.deps.benchmarks.get(m.id);
    const cooling =
      m.availability === 'ready' &&
      (health.state === 'open' ||
        (health.cooldownUntil !== undefined && Date.parse(health.cooldownUntil) > Date.now()));
    return {
      ...m,
      ...(cooling ? { availability: 'cooling_down' as const } : {}),
      health,
      ...(bench ? { benchmark: bench } : {}),
    };
  }

  /** Notify when the set of ids changed (or always, when `force`: health/fit/benchmark changes). */
  emitIfChanged(force: boolean): void {
    const models = this.list();
    const ids = new Set(models.map((m) => m.id));
    const added = [...ids].filter((i) => !this.lastIds.has(i));
    const removed = [...this.lastIds].filter((i) => !ids.has(i));
    this.lastIds = ids;
    if (force || added.length || removed.length) this.deps.onChange(models, added, removed);
  }

  close(): void {
    this.watcher?.close();
  }
}

/** What the family tables say of a (wire format, name): asked for every request (issue 21), pure. */
const inferred = new Map<string, Capability[]>();
const MAX_INFERRED = 4096;

/**
 * A cloud model's capabilities: what the configuration (`modelInfo`) or the provider's listing says,
 * else its family's, limited to what the wire format can carry.
 */
export function cloudCapabilities(type: CloudProviderType, name: string, stated?: readonly Capability[]): Capability[] {
  if (stated) return [...stated];
  const key = `${type}\0${name}`;
  let caps = inferred.get(key);
  if (caps === undefined) {
    const carried = new Set(WIRE_FORMATS[type].capabilities);
    caps = familyCapabilities(name).filter((c) => carried.has(c));
    if (inferred.size >= MAX_INFERRED) inferred.clear();
    inferred.set(key, caps);
  }
  return [...caps];
}
