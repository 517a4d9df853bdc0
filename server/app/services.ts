// The composition root: the pure core (engine, health, queue, planner, scores) wired to the real
// world (providers, discovery, system, store) — the only place the two meet.
import crypto from 'node:crypto';
import { methods } from '../../protocol/index';
import { providerOf, splitModelId } from '../../protocol/modelId';
import type {
  FallbackEvent,
  FallbackPlan,
  HealthReport,
  HistoryEvent,
  LastFallback,
  ModelInfo,
  Status,
  Stats,
  UsageReport,
  SystemSnapshot,
} from '../../protocol/types';
import { BenchmarkStore } from '../benchmark/benchmark';
import { type Adjustments, Engine, type PlanContext } from '../core/engine';
import { HealthRegistry } from '../core/health';
import { computeHealth, untested } from '../core/healthScore';
import { failedModels, planFallback } from '../core/planner';
import { CHARS_PER_TOKEN, maxTokensToFit } from '../core/requirements';
import { RequestQueue } from '../core/queue';
import { StatsRecorder } from '../core/stats';
import { EventHistory } from '../core/eventHistory';
import { memoryPressure, MemoryWatch, type MemoryPressure } from '../core/memoryWatch';
import type { Clock } from '../core/types';
import { WaitEstimator } from '../core/waitEstimate';
import type { DaemonState } from '../state/daemonState';
import type { DaemonLogger } from './logger';
import { ModelCatalog } from '../discovery/modelCatalog';
import { DEFAULT_LOCAL_CONTEXT } from '../providers/local';
import { physicalCoresGuess, ProviderRegistry } from '../providers/registry';
import { OfflineMonitor } from './offlineMonitor';
import { SpendTracker } from './spendTracker';
import { PurposeStats, purposeChain } from '../core/purposeStats';
import { PURPOSES } from '../../protocol/enums';
import { FitTable } from '../system/fitTable';
import { SYSTEM_FIRST_SNAPSHOT_DELAY_MS, SystemMonitor } from '../system/systemSource';
import { VERSION } from './version';
import { TeamState } from '../shared/teamState';
import { RateLimiter } from '../shared/rateLimiter';
import { SharedSpend } from '../shared/sharedSpend';

/** Cloud providers without maxConcurrency: generous, the provider's own limits answer with 429. */
export const DEFAULT_CLOUD_CONCURRENCY = 16;
/** Local models run one generation at a time unless configured otherwise. */
export const DEFAULT_LOCAL_CONCURRENCY = 1;
const STATUS_DEBOUNCE_MS = 50;

/**
 * llama.cpp threads: the physical cores, except on machines with two or fewer, where one core is
 * left to the editor and the daemon — two busy threads on two busy cores wait on each other
 * (measured: 5–30 tok/s with 2 threads vs ~800 tok/s with 1 under load on the 2-core CI box).
 */
export function defaultThreads(physicalCores: number): number {
  return physicalCores <= 2 ? 1 : physicalCores;
}

export class Services {
  readonly clock: Clock;
  readonly log: DaemonLogger;
  readonly health: HealthRegistry;
  /** Circuits, cooldowns, probe leases and rate limits shared with the team (state.redis; docs/team.md). */
  readonly team: TeamState;
  readonly stats: StatsRecorder;
  readonly waits: WaitEstimator;
  readonly queue: RequestQueue;
  readonly registry: ProviderRegistry;
  readonly offline: OfflineMonitor;
  /** Tokens and dollars per provider and model, budgets, expected costs (issue 19). */
  readonly spend: SpendTracker;
  private readonly sharedSpend: SharedSpend;
  /** Whether each purpose's latency budget holds (recent first-token times). */
  readonly purposeStats = new PurposeStats();
  readonly benchmarks: BenchmarkStore;
  readonly system: SystemMonitor;
  readonly catalog: ModelCatalog;
  readonly engine: Engine;
  readonly fitTable: FitTable;
  /** monitorVram: memory pressure across system samples. */
  readonly memory = new MemoryWatch();
  lastFallback: LastFallback | undefined;
  /** Fallbacks and failed requests, persisted (backstop/events, backstop/fallbacks). */
  readonly events: EventHistory;
  private inFlight = 0;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;
  private queueBroadcast: ReturnType<typeof setImmediate> | undefined;
  private recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  private lastStatusJson = '';

  constructor(
    readonly state: DaemonState,
    opts: { homeDir?: string } = {},
  ) {
    const { clock, store } = state.opts;
    this.clock = clock;
    this.log = state.logger;
    this.team = new TeamState({
      logger: this.log,
      now: () => clock.now(),
      onRemote: (model, ev) => this.health.applyShared(model, ev),
      probeLeaseMs: () => state.config.timeoutMs + 1000,
    });
    this.health = new HealthRegistry({
      clock,
      shared: this.team,
      config: () => state.config.circuit,
      store,
      onTransition: (model, from, to, why) => {
        this.log.info(`health ${model}: ${from} → ${to} (${why})`);
        this.queue?.poke(model);
        this.catalog?.emitIfChanged(true);
        this.statusSoon();
      },
    });
    this.stats = new StatsRecorder(store);
    this.sharedSpend = new SharedSpend({
      client: () => this.team.client(),
      configured: () => state.config.state.redis !== undefined,
      reportError: (e) => this.team.reportError(e),
      now: () => clock.now(),
      budgeted: () => [...new Set(state.config.budgets.map((b) => b.provider))],
    });
    this.spend = new SpendTracker(
      clock,
      () => state.config,
      (id) => this.registry.resolve(id),
      store,
      this.sharedSpend,
    );
    this.events = new EventHistory(store);
    this.waits = new WaitEstimator({ clock });
    this.queue = new RequestQueue({
      clock,
      maxSize: () => state.config.queue.maxSize,
      maxWaitMs: () => state.config.queue.maxWaitMs,
      concurrency: (model) => this.concurrency(model),
      estimator: this.waits,
      onChange: () => {
        this.queueChangedSoon();
        this.statusSoon();
      },
      newId: () => crypto.randomUUID(),
    });
    this.benchmarks = new BenchmarkStore(store);
    this.fitTable = new FitTable(this.log);
    this.system = new SystemMonitor({
      onUpdate: () => this.checkMemory(),
      pollVram: () => state.config.monitorVram,
    });
    this.registry = new ProviderRegistry({
      logger: this.log,
      redact: (t) => this.log.redact(t),
      apiKey: (pid) => state.apiKey(pid),
      localEntry: (pid, name) => this.catalog.localEntry(pid, name),
      localDirs: (pid) => this.catalog.dirsFor(pid),
      cloudContextLength: (pid, name) => this.catalog.cloudContextLength(pid, name),
      threads: () => defaultThreads(this.system.snapshot().cpu.physicalCores ?? physicalCoresGuess()),
      totalMemoryBytes: () => this.system.snapshot().memory.totalBytes,
      estimateBytes: (id, ctx) => {
        const e = this.fitTable.estimate(id, ctx);
        return e ? e.ramBytes + e.vramBytes : undefined;
      },
      budgetBytes: (id) => this.memoryBudget(id),
      rateLimiter: new RateLimiter({
        now: () => clock.now(),
        redis: () => this.team.client(),
        onError: (e) => this.team.reportError(e),
      }),
    });
    this.catalog = new ModelCatalog({
      config: () => state.config,
      providers: () => this.registry.all(),
      health: this.health,
      benchmarks: this.benchmarks,
      system: () => this.system.snapshot(),
      logger: this.log,
      onChange: (models) => {
        void this.fitTable.refresh(this.catalog.localEntries());
        for (const l of this.modelsListeners) l();
        state.peers.broadcast(methods.modelsChanged, { models });
        this.statusSoon();
      },
      ...(opts.homeDir ? { homeDir: opts.homeDir } : {}),
    });
    this.offline = new OfflineMonitor(
      clock,
      () => state.config,
      (id) => this.registry.resolve(id),
      () => this.statusSoon(),
    );
    this.engine = new Engine({
      clock,
      random: Math.random,
      health: this.health,
      config: () => state.config,
      resolve: (id) => {
        const r = this.registry.resolve(id);
        const caps = r && this.catalog.capabilitiesOf(r.provider.id, r.name);
        return r && caps ? { ...r, capabilities: caps } : r;
      },
      acquire: (model, priority, signal, opts) => this.queue.acquire(model, priority, signal, opts),
      unavailable: (m) => this.offline.unavailable(m) ?? this.spend.unavailable(m),
      cost: (m, req) => this.spend.expectedCost(m, req),
      plan: (ctx) => this.planFor(ctx),
      adjust: (ctx) => this.adjustFor(ctx),
      onEvent: (e) => {
        if (e.type === 'fallback') {
          this.log.info(`fallback ${e.from} → ${e.to}: ${e.failure.replace(/_/g, ' ')} (${e.message})`);
          this.recordFallback({
            requestId: e.requestId,
            from: e.from,
            to: e.to,
            failure: e.failure,
            message: e.message,
          });
        } else {
          this.offline.onAttempt(e.attempt);
          if (!this.log.enabled('debug')) return;
          const a = e.attempt;
          this.log.debug(
            `attempt ${e.requestId} ${a.model} #${a.retry}: ${a.outcome}${a.failure ? ` ${a.failure}` : ''} ${a.latencyMs} ms${a.message ? ` — ${a.message}` : ''}`,
          );
        }
      },
    });
    this.registry.apply(state.config);
    this.team.apply(state.config.state.redis);
    state.onConfig((next, prev) => {
      this.registry.apply(next);
      this.team.apply(next.state.redis);
      if (JSON.stringify(next.providers) !== JSON.stringify(prev.providers)) {
        void this.catalog.rescan();
        void this.catalog.cloud.refresh(true);
        this.catalog.restartWatcher();
      }
      this.catalog.emitIfChanged(true);
      // A raised maxConcurrency frees slots for requests already waiting.
      this.queue.poke();
      this.statusSoon();
    });
  }

  private readonly modelsListeners: (() => void)[] = [];
  /** Called whenever the model list changes (caches keyed by models drop their entries). */
  onModelsChanged(fn: () => void): void {
    this.modelsListeners.push(fn);
  }

  async start(): Promise<void> {
    // The first real machine snapshot (shell commands) lands in the background once the daemon is up;
    // until then snapshot() answers from node:os.
    this.system.startAfter(SYSTEM_FIRST_SNAPSHOT_DELAY_MS);
    this.catalog.start();
    this.sharedSpend.start();
    await this.catalog.rescan();
    // Once the cloud listings are in too (they share the calls start() began): one summary line.
    void this.catalog.cloud.refresh().then(() => this.log.info(this.startupSummary()));
  }

  /** "ready: providers a (openai-compatible: 2 of 2 models ready), …; 17 models found; chain x → y (sequential)". */
  startupSummary(): string {
    const cfg = this.state.config;
    const models = this.catalog.list();
    const providers = cfg.providers.map((p) => {
      const mine = models.filter((m) => m.provider === p.id);
      const err = this.catalog.cloud.get(p.id)?.error;
      const ready = mine.filter((m) => m.availability === 'ready').length;
      const state = err
        ? `not reachable (${err.kind.replace(/_/g, ' ')}: ${err.message})`
        : `${ready} of ${mine.length} models ready`;
      return `${p.id} (${p.type}: ${state})`;
    });
    const chain = cfg.chain.length ? cfg.chain.join(' → ') : '(empty)';
    return `ready: providers ${providers.join(', ') || '(none configured)'}; ${models.length} models found; chain ${chain} (${cfg.strategy})`;
  }

  async stop(): Promise<void> {
    this.system.stop();
    this.catalog.close();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (this.queueBroadcast) clearImmediate(this.queueBroadcast);
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    this.offline.dispose();
    this.sharedSpend.stop();
    await this.registry.dispose();
    await this.team.close();
  }

  concurrency(model: string): number {
    const pid = providerOf(model);
    const p = this.state.config.providers.find((x) => x.id === pid);
    if (!p) return 1;
    return p.maxConcurrency ?? (p.type === 'local' ? DEFAULT_LOCAL_CONCURRENCY : DEFAULT_CLOUD_CONCURRENCY);
  }

  onSecretChanged(providerId: string): void {
    // A new key may fix this provider's auth failures: forget its models' health, nobody else's.
    for (const m of Object.keys(this.health.all())) if (providerOf(m) === providerId) this.health.reset(m);
    void this.catalog.cloud.refresh(true);
    this.log.info(`API key for ${providerId} updated`);
  }

  planFor(
    ctx:
      | PlanContext
      | {
          model: string;
          failure: PlanContext['failure'];
          message?: string;
          retryAfterMs?: number;
          requirements?: import('../../protocol/types').Requirements;
        },
    exhausted = true,
  ): FallbackPlan {
    const models = this.catalog.list();
    const requirements = 'request' in ctx ? ctx.request.requirements : ctx.requirements;
    return planFallback({
      model: ctx.model,
      failure: ctx.failure,
      ...(ctx.message !== undefined ? { message: ctx.message } : {}),
      ...(ctx.retryAfterMs !== undefined ? { retryAfterMs: ctx.retryAfterMs } : {}),
      models,
      ...(requirements ? { requirements } : {}),
      mockGeneration: this.state.config.mockGeneration,
      waitMs: (m) => this.queue.estimateNew(m)?.totalMs,
      freeMemoryBytes: this.memoryBudget(ctx.model),
      estimateFit: (m, o) => this.estimateFit(m, o),
      downloadSource: (m) => this.downloadSource(m),
      ...('request' in ctx && ctx.request.maxTokens !== undefined ? { maxTokens: ctx.request.maxTokens } : {}),
      exhausted,
      now: this.clock.now(),
      failedInRequest: failedModels('attempts' in ctx ? ctx.attempts : undefined),
    });
  }

  /** Where a missing model can come from: a configured GGUF URL, or an Ollama pull. */
  downloadSource(model: string): { kind: 'ollama_pull' | 'gguf_url'; url?: string; sizeBytes?: number } | undefined {
    const { provider: pid, name } = splitModelId(model);
    const p = this.state.config.providers.find((x) => x.id === pid);
    if (p?.type === 'ollama') return { kind: 'ollama_pull' };
    const d = p?.type === 'local' ? p.downloads?.[name] : undefined;
    return d
      ? { kind: 'gguf_url', url: d.url, ...(d.sizeBytes !== undefined ? { sizeBytes: d.sizeBytes } : {}) }
      : undefined;
  }

  /**
   * The context a model runs with: a local model's provider contextSize (default DEFAULT_LOCAL_CONTEXT)
   * within what it was trained for; a cloud model's stated or listed context.
   */
  private effectiveContext(model: string): number | undefined {
    const trained = this.registry.resolve(model)?.contextLength;
    const p = this.state.config.providers.find((x) => x.id === providerOf(model));
    if (p?.type !== 'local') return trained;
    const runs = p.contextSize ?? Math.min(trained ?? DEFAULT_LOCAL_CONTEXT, DEFAULT_LOCAL_CONTEXT);
    return trained === undefined ? runs : Math.min(trained, runs);
  }

  /** Memory a local model may use: what is free, or the provider's memoryBudgetBytes if smaller. */
  memoryBudget(model: string): number {
    const free = this.system.snapshot().memory.availableBytes;
    const p = this.state.config.providers.find((x) => x.id === providerOf(model));
    return p?.type === 'local' && p.memoryBudgetBytes !== undefined ? Math.min(free, p.memoryBudgetBytes) : free;
  }

  /** Synchronous fit check for the planner and health score, from the precomputed estimates. */
  estimateFit(
    model: string,
    o: { contextSize: number; gpuLayers: number },
  ): { ramBytes: number; vramBytes: number; fits: boolean } | undefined {
    const e = this.fitTable.estimate(model, o.contextSize);
    return e ? { ...e, fits: e.ramBytes + e.vramBytes <= this.memoryBudget(model) } : undefined;
  }

  /** autoSwitch: after out_of_memory, the planner's reduced settings for the same model, if any fit. */
  adjustFor(ctx: PlanContext): Adjustments | undefined {
    if (!this.state.config.autoSwitch) return undefined;
    if (ctx.failure === 'context_overflow') {
      // Only with a known context: a guess would spend another call on a prompt that may not fit.
      const contextLength = this.effectiveContext(ctx.model);
      const maxTokens = contextLength === undefined ? undefined : maxTokensToFit(ctx.request, contextLength);
      if (maxTokens === undefined) return undefined;
      this.log.info(`autoSwitch: retrying ${ctx.model} with maxTokens ${maxTokens} (context ${contextLength})`);
      return { maxTokens };
    }
    if (ctx.failure !== 'out_of_memory') return undefined;
    const opt = this.planFor(ctx, false).options.find(
      (o) => o.type === 'reduce_requirements' && o.model === ctx.model && o.adjustments,
    );
    if (!opt?.adjustments) return undefined;
    const num = (k: string) => (typeof opt.adjustments?.[k] === 'number' ? (opt.adjustments[k] as number) : undefined);
    const a: Adjustments = {};
    const c = num('contextSize'),
      g = num('gpuLayers'),
      t = num('maxTokens');
    if (c !== undefined) a.contextSize = c;
    if (g !== undefined) a.gpuLayers = g;
    if (t !== undefined) a.maxTokens = t;
    this.log.info(`autoSwitch: retrying ${ctx.model} with ${JSON.stringify(a)} (${opt.message})`);
    return a;
  }

  models(): ModelInfo[] {
    return this.catalog.list();
  }

  systemSnapshot(): SystemSnapshot {
    return this.system.snapshot();
  }

  /**
   * monitorVram: free RAM and VRAM against what the chain's local models need, on every system
   * sample. Entering pressure is one warning in the log and the top recommendation until it ends.
   */
  checkMemory(models: readonly ModelInfo[] = this.catalog.list()): MemoryPressure | undefined {
    const cfg = this.state.config;
    if (!cfg.monitorVram) {
      this.memory.reset();
      return undefined;
    }
    const chain = new Set(cfg.chain);
    const needs = models
      .filter((m) => m.kind === 'local' && m.fit && chain.has(m.id))
      .map((m) => ({ model: m.id, bytes: m.fit!.estimatedRamBytes + m.fit!.estimatedVramBytes }));
    const budgets = cfg.providers.flatMap((p) =>
      p.type === 'local' && p.memoryBudgetBytes !== undefined ? [p.memoryBudgetBytes] : [],
    );
    const next = memoryPressure(this.system.snapshot(), needs, budgets.length ? Math.min(...budgets) : undefined);
    const change = this.memory.update(next);
    if (change === 'entered' && next) this.log.warn(next.message);
    if (change === 'left') this.log.info('Memory is sufficient again for the local models of the chain.');
    if (change) this.statusSoon();
    return next;
  }

  healthReport(): HealthReport {
    const models = this.catalog.list();
    const pressure = this.checkMemory(models);
    const h = computeHealth({
      chain: this.state.config.chain,
      models,
      system: this.system.snapshot(),
      recentSuccessRate: this.recentSuccessRate(),
      estimateFit: (m, o) => this.estimateFit(m, o),
      now: this.clock.now(),
    });
    if (pressure && !h.recommendations.includes(pressure.message)) h.recommendations.unshift(pressure.message);
    return { ...h, perModel: this.health.all() };
  }

  /** Success rate of the chain's models over their recent calls (the health registry's windows). */
  private recentSuccessRate(): number | undefined {
    const rates = this.state.config.chain
      .map((m) => this.health.recentSuccessRate(m))
      .filter((r): r is number => r !== undefined);
    return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : undefined;
  }

  usageReport(): UsageReport {
    return this.spend.report();
  }

  statsSnapshot(): Stats {
    return this.stats.get();
  }

  requestStarted(): void {
    this.inFlight++;
    this.statusSoon();
  }

  requestEnded(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.statusSoon();
  }

  /** A request moved to another model: remember it, tell every client, refresh the status. */
  recordFallback(fb: FallbackEvent): void {
    const at = { ...fb, at: new Date(this.clock.now()).toISOString() };
    this.lastFallback = at;
    this.events.add({ ...at, kind: 'fallback' });
    this.state.peers.broadcast(methods.fallback, fb);
    this.statusSoon();
  }

  /** Token counts for `model` (default: the chain's first): the model's own tokenizer where it has one. */
  async countTokens(
    model: string | undefined,
    texts: readonly string[],
    ctx: { signal: AbortSignal },
  ): Promise<{ counts: number[]; exact: boolean; model?: string }> {
    const id = model ?? this.state.config.chain[0];
    const r = id === undefined ? undefined : this.registry.resolve(id);
    if (r?.provider.countTokens) {
      try {
        return { counts: await r.provider.countTokens(r.name, texts, ctx.signal), exact: true, model: id! };
      } catch (e) {
        this.log.debug(`countTokens ${id}: ${e instanceof Error ? e.message : String(e)}; estimating instead`);
      }
    }
    const counts = texts.map((t) => Math.ceil(t.length / CHARS_PER_TOKEN));
    return { counts, exact: false, ...(id === undefined ? {} : { model: id }) };
  }

  /** The most recent fallbacks, newest first. */
  recentFallbacks(limit?: number): LastFallback[] {
    return this.events.recent(limit, 'fallback').map((e) => ({
      requestId: e.requestId,
      from: e.from ?? '',
      to: e.to ?? '',
      failure: e.failure,
      message: e.message,
      at: e.at,
    }));
  }

  /** No model could serve a request: remember it with each model's reason. */
  recordFailed(e: Omit<HistoryEvent, 'id' | 'at' | 'kind'>): void {
    this.events.add({ ...e, kind: 'failed', at: new Date(this.clock.now()).toISOString() });
  }

  status(): Status {
    const cfg = this.state.config;
    const models = this.catalog.list();
    const report = this.healthReport();
    const now = this.clock.now();
    const next = cfg.chain.length ? this.health.nextRecovery(cfg.chain) : undefined;
    const exhausted = next !== undefined && next > now;
    if (exhausted) this.scheduleRecoveryStatus(next - now);
    // The model that served the last request: what "active" means to someone whose primary fails.
    const served = this.health.lastServed();
    const ready = models.filter((m) => m.availability === 'ready');
    const offline = this.offline.status();
    const budgets = this.spend.budgets();
    return {
      version: VERSION,
      uptimeMs: now - this.state.startedAt,
      healthScore: report.score,
      healthLevel: report.level,
      activeModel: served?.model ?? null,
      ...(served ? { activeAt: new Date(served.at).toISOString() } : {}),
      chain: cfg.chain,
      strategy: cfg.strategy,
      exhausted,
      ...(exhausted ? { exhaustedUntil: new Date(next).toISOString() } : {}),
      queueLength: this.queue.length(),
      models: {
        total: models.length,
        ready: ready.length,
        untested: ready.filter(untested).length,
        failing: models.filter((m) => m.health.consecutiveFailures > 0).length,
      },
      factors: report.factors,
      inFlight: this.inFlight,
      ...(this.lastFallback ? { lastFallback: this.lastFallback } : {}),
      ...(report.recommendations[0] ? { topRecommendation: report.recommendations[0] } : {}),
      purposes: this.purposesStatus(),
      ...(offline ? { offline } : {}),
      ...(budgets ? { budgets } : {}),
    };
  }

  /** Each purpose's chain, budget and how the budget holds (Status.purposes). */
  private purposesStatus(): NonNullable<Status['purposes']> {
    const cfg = this.state.config;
    const out = {} as NonNullable<Status['purposes']>;
    for (const p of PURPOSES) {
      const budgetMs = cfg.purposes[p].budgetMs;
      out[p] = { chain: purposeChain(cfg, p), budgetMs, ...this.purposeStats.summary(p, budgetMs) };
    }
    return out;
  }

  /** One `backstop/queueChanged` per event-loop turn, with the queue as it stands then, and only when
   *  someone listens: items() runs a wait estimate per waiting request. */
  private queueChangedSoon(): void {
    if (this.queueBroadcast || this.state.peers.size() === 0) return;
    this.queueBroadcast = setImmediate(() => {
      this.queueBroadcast = undefined;
      if (this.state.peers.size() > 0) this.state.peers.broadcast(methods.queueChanged, { items: this.queue.items() });
    });
  }

  /** Coalesce bursts of changes into one `statusChanged`, sent only when something differs. */
  statusSoon(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.state.peers.size() === 0) return;
      const s = this.status();
      const { uptimeMs: _u, ...rest } = s;
      const json = JSON.stringify(rest);
      if (json === this.lastStatusJson) return;
      this.lastStatusJson = json;
      this.state.broadcastStatus(s);
    }, STATUS_DEBOUNCE_MS);
  }

  private scheduleRecoveryStatus(ms: number): void {
    if (this.recoveryTimer) return;
    this.recoveryTimer = setTimeout(
      () => {
        this.recoveryTimer = undefined;
        this.queue.poke();
        this.statusSoon();
      },
      Math.min(ms + 10, 2 ** 31 - 1),
    );
    this.recoveryTimer.unref?.();
  }
}
