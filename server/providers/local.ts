// Local GGUF models through node-llama-cpp, run in a child process (localWorker.ts) so a crash or
// a native abort in llama.cpp fails the attempt, never the daemon.
import { fork, type ChildProcess } from 'node:child_process';
import type { LocalProviderConfig } from '../../protocol/config';
import { formatModelId } from '../../protocol/modelId';
import {
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type Logger,
  type Provider,
  ProviderError,
} from '../core/types';
import type { FromWorker, ToWorker } from './localWorkerProtocol';
import { fimInChatForm } from './translate';
import { rssOfPid } from '../native/processMemory';

/** What the provider needs to know of a discovered file. */
export interface LocalModelRef {
  path: string;
  ok: boolean;
  reason?: string;
  contextLength?: number;
  hasChatTemplate: boolean;
  /** From the GGUF's metadata: 'fim' when its vocabulary has fill-in-the-middle tokens. */
  capabilities?: readonly string[];
}

export const DEFAULT_LOCAL_CONTEXT = 4096;
export const DEFAULT_IDLE_TTL_MS = 10 * 60_000;
/** Without a configured budget, loaded models may use half of the machine's RAM. */
export const DEFAULT_BUDGET_FRACTION = 0.5;
const DEFAULT_MAX_TOKENS = 256;

export interface LocalProviderDeps {
  resolve(name: string): LocalModelRef | undefined;
  /** Folders searched, for the "not found" message. */
  searched(): string[];
  workerPath: string;
  /** Read when the worker starts, so the system snapshot (physical cores, RAM) is known by then. */
  threads: () => number;
  totalMemoryBytes: () => number;
  logger: Logger;
  /** Estimated RAM+VRAM for a model at a context size (precomputed GgufInsights), if known. */
  estimateBytes?(name: string, contextSize: number): number | undefined;
  /** What this provider's models may use now: free memory, or memoryBudgetBytes if smaller. */
  budgetBytes?(): number;
}

interface Pending {
  resolve(r: GenerateResult): void;
  reject(e: ProviderError): void;
  onDelta?: (d: string) => void;
  onToolCallDelta?: GenerateOptions['onToolCallDelta'];
  text: string;
  /** The model name asked for (its memory is recorded when it answers). */
  model: string;
}

export class LocalProvider implements Provider {
  /** llama.cpp runs here: log probabilities are not reported; an end-user id and metadata mean nothing. */
  readonly ignores = ['logprobs', 'topLogprobs', 'user', 'metadata'] as const;
  readonly type = 'local' as const;
  readonly kind = 'local' as const;
  private child: ChildProcess | undefined;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private counting = new Map<number, { resolve(c: number[]): void; reject(e: ProviderError): void }>();
  private restartWhenIdle = false;
  /** Model files the worker holds in memory (their memory is no longer "free"). */
  private loaded = new Set<string>();
  /** Peak RSS of the worker process, as last reported (benchmarks). */
  peakRssBytes: number | undefined;
  /** Each model's own memory (weights + context state) as the worker last reported it. */
  private readonly modelBytes = new Map<string, number>();

  constructor(
    readonly id: string,
    private cfg: LocalProviderConfig,
    private readonly deps: LocalProviderDeps,
  ) {}

  updateConfig(cfg: LocalProviderConfig): void {
    const key = (c: LocalProviderConfig) => JSON.stringify([c.threads, c.gpu, c.memoryBudgetBytes, c.idleTtlMs]);
    const changed = key(cfg) !== key(this.cfg);
    this.cfg = cfg;
    // The worker got these at start: restart it (now if idle, else after the running generations).
    if (changed && this.child) {
      if (this.pending.size === 0) void this.dispose();
      else this.restartWhenIdle = true;
    }
  }

  async generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    if (opts.signal.aborted) throw new ProviderError('cancelled', 'cancelled before start');
    const ref = this.deps.resolve(req.model);
    if (!ref) {
      throw new ProviderError(
        'model_missing',
        `local model "${req.model}" not found; searched ${this.deps.searched().join(', ') || '(no folders configured: set modelsDirs)'}`,
      );
    }
    if (!ref.ok)
      throw new ProviderError(
        'model_load',
        `local model "${req.model}" cannot be loaded: ${ref.reason ?? 'incompatible file'}`,
      );
    // Fill-in-the-middle: by the model's own FIM tokens (infill), else in chat form on a chat model
    // (a plain completion of the prefix would ignore the text after the cursor).
    if (req.suffix !== undefined && !ref.capabilities?.includes('fim') && ref.hasChatTemplate)
      return fimInChatForm(req, opts, (r, o) => this.generate(r, o));
    const trained = ref.contextLength;
    const contextSize =
      req.contextSize ?? this.cfg.contextSize ?? Math.min(trained ?? DEFAULT_LOCAL_CONTEXT, DEFAULT_LOCAL_CONTEXT);
    // Validate before llama.cpp sees it: absurd sizes take it ~60 s to refuse.
    if (trained !== undefined && contextSize > trained) {
      throw new ProviderError(
        'context_overflow',
        `context size ${contextSize} exceeds what ${formatModelId(this.id, req.model)} was trained for (${trained}): ` +
          `set contextSize of provider "${this.id}" to ${trained} or less`,
      );
    }
    // Refuse what will not fit before loading it: an OOM inside llama.cpp can take the process down.
    const need = this.deps.estimateBytes?.(req.model, contextSize);
    const budget = this.deps.budgetBytes?.();
    if (need !== undefined && budget !== undefined && need > budget && !this.loaded.has(ref.path)) {
      const mb = (n: number) => `${Math.round(n / 1024 ** 2)} MB`;
      throw new ProviderError(
        'out_of_memory',
        `${formatModelId(this.id, req.model)} needs about ${mb(need)} at ctx ${contextSize} but only ${mb(budget)} is ` +
          'available (free memory or memoryBudgetBytes): use a smaller contextSize or a smaller quantization',
      );
    }
    const child = this.ensureChild();
    const id = this.nextId++;
    return await new Promise<GenerateResult>((resolve, reject) => {
      // Settle at once and tell the worker: llama.cpp may be inside a load that cannot stop
      // between tokens, and the caller must not wait for it. Late messages for `id` are dropped.
      const onAbort = () => {
        this.post({ type: 'abort', id });
        const p = this.pending.get(id);
        this.pending.delete(id);
        p?.reject(new ProviderError('cancelled', 'generation cancelled'));
      };
      opts.signal.addEventListener('abort', onAbort, { once: true });
      const done = () => opts.signal.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        ...(opts.onDelta ? { onDelta: opts.onDelta } : {}),
        ...(opts.onToolCallDelta ? { onToolCallDelta: opts.onToolCallDelta } : {}),
        text: '',
        model: req.model,
      });
      this.post({
        type: 'generate',
        id,
        modelPath: ref.path,
        contextSize,
        maxTokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
        temperature: req.temperature ?? 0.7,
        useChatTemplate: ref.hasChatTemplate,
        ...(req.gpuLayers !== undefined ? { gpuLayers: req.gpuLayers } : {}),
        ...(req.prompt !== undefined ? { prompt: req.prompt } : {}),
        ...(req.messages ? { messages: req.messages } : {}),
        ...(req.suffix !== undefined ? { suffix: req.suffix } : {}),
        ...(req.stop ? { stop: req.stop } : {}),
        ...(req.tools?.length ? { tools: req.tools } : {}),
        ...(req.toolChoice !== undefined ? { toolChoice: req.toolChoice } : {}),
        ...(req.parallelToolCalls !== undefined ? { parallelToolCalls: req.parallelToolCalls } : {}),
        ...(req.topP !== undefined ? { topP: req.topP } : {}),
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
        ...(req.presencePenalty !== undefined ? { presencePenalty: req.presencePenalty } : {}),
        ...(req.frequencyPenalty !== undefined ? { frequencyPenalty: req.frequencyPenalty } : {}),
        ...(req.logitBias ? { logitBias: req.logitBias } : {}),
        ...(req.responseFormat && req.responseFormat.type !== 'text'
          ? { json: req.responseFormat.type === 'json_schema' ? { schema: req.responseFormat.schema } : {} }
          : {}),
      });
      void child;
    });
  }

  /** Token counts with the model's own tokenizer: the worker loads only its vocabulary if it is not in memory. */
  async countTokens(model: string, texts: readonly string[], signal: AbortSignal): Promise<number[]> {
    const ref = this.deps.resolve(model);
    if (!ref?.ok) throw new ProviderError('model_missing', `local model "${model}" is not available to count tokens`);
    this.ensureChild();
    const id = this.nextId++;
    return await new Promise<number[]>((resolve, reject) => {
      const onAbort = () => {
        this.counting.delete(id);
        reject(new ProviderError('cancelled', 'token count cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      this.counting.set(id, {
        resolve: (c) => {
          done();
          resolve(c);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      this.post({ type: 'tokenize', id, modelPath: ref.path, texts: [...texts] });
    });
  }

  private post(m: ToWorker): void {
    const c = this.child;
    // A worker that just died is still "connected" until its pipe closes: a write then fails with
    // EPIPE, which must be logged, never thrown at the daemon.
    if (c?.connected)
      c.send(m, (err) => {
        if (err) this.deps.logger.debug(`local worker send failed: ${err.message}`);
      });
  }

  private ensureChild(): ChildProcess {
    if (this.child && this.child.connected) return this.child;
    const child = fork(this.deps.workerPath, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    child.stderr?.on('data', (d: Buffer) => this.deps.logger.debug(`local worker: ${d.toString().trim()}`));
    child.on('message', (m: FromWorker) => this.onMessage(m));
    child.on('error', (e) => this.deps.logger.warn(`local worker: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.loaded.clear();
      // SIGKILL from nobody we know is usually the kernel's out-of-memory killer.
      const why = `local inference process exited (${signal ?? `code ${code}`}${signal === 'SIGKILL' ? ': killed, often by the out-of-memory killer' : ''})`;
      if (this.pending.size) this.deps.logger.warn(`${why} with ${this.pending.size} generation(s) running`);
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new ProviderError('model_load', `${why}; the model crashed or ran out of memory`));
      }
      for (const [id, c] of this.counting) {
        this.counting.delete(id);
        c.reject(new ProviderError('model_load', why));
      }
    });
    const budget = this.cfg.memoryBudgetBytes ?? Math.floor(this.deps.totalMemoryBytes() * DEFAULT_BUDGET_FRACTION);
    child.send(
      {
        type: 'init',
        threads: this.cfg.threads ?? this.deps.threads(),
        gpu: this.cfg.gpu ?? false,
        memoryBudgetBytes: budget,
        idleTtlMs: this.cfg.idleTtlMs ?? DEFAULT_IDLE_TTL_MS,
      } satisfies ToWorker,
      (err) => {
        if (err) this.deps.logger.warn(`local worker init failed: ${err.message}`);
      },
    );
    this.child = child;
    return child;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'log') return this.deps.logger[m.level](`local worker: ${m.message}`);
    if (m.type === 'loaded') {
      this.loaded = new Set(m.loaded);
      return this.deps.logger.info(`loaded ${m.modelPath} (in memory: ${m.loaded.length})`);
    }
    if (m.type === 'ready') return;
    const counted = this.counting.get(m.id);
    if (counted) {
      this.counting.delete(m.id);
      if (m.type === 'tokens') counted.resolve(m.counts);
      else if (m.type === 'error') counted.reject(new ProviderError(m.kind, m.message));
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'delta') {
      p.text += m.text;
      p.onDelta?.(m.text);
      return;
    }
    this.pending.delete(m.id);
    if (this.restartWhenIdle && this.pending.size === 0) {
      this.restartWhenIdle = false;
      void this.dispose();
    }
    if (m.type === 'done') {
      this.deps.logger.debug(`local ${p.model}: answered by ${m.mode}`);
      this.peakRssBytes = Math.max(this.peakRssBytes ?? 0, m.peakRssBytes);
      if (m.modelBytes !== undefined) this.modelBytes.set(p.model, m.modelBytes);
      // Tool calls arrive whole when the model has finished them: id and name, then the arguments.
      m.toolCalls?.forEach((c, index) => {
        p.onToolCallDelta?.({ index, id: c.id, name: c.name });
        p.onToolCallDelta?.({ index, arguments: c.arguments });
      });
      p.resolve({
        text: m.text,
        usage: { promptTokens: m.promptTokens, completionTokens: m.completionTokens },
        finishReason: m.finishReason,
        ...(m.toolCalls?.length ? { toolCalls: m.toolCalls } : {}),
      });
    } else if (m.type === 'error') {
      p.reject(new ProviderError(m.kind, m.message));
    }
  }

  workerPid(): number | undefined {
    return this.child?.pid;
  }

  /** The worker's resident memory now (the process that holds the loaded models). */
  memoryBytes(): number | undefined {
    return rssOfPid(this.child?.pid);
  }

  /** One model's own memory (node-llama-cpp: its weights plus its context state), once it has answered. */
  modelMemoryBytes(model: string): number | undefined {
    return this.modelBytes.get(model);
  }

  async dispose(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null) {
      c.kill();
    }
  }
}
