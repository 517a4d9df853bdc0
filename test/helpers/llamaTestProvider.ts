// Test-only Provider running node-llama-cpp in-process (the real local provider runs a worker).
// Lets benchmark tests drive a real model without depending on the production provider.
import type { LlamaCompletion, LlamaContext, LlamaModel, TokenBias } from 'node-llama-cpp';
import {
  ProviderError,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type Provider,
} from '../../server/core/types';
import { getSharedLlama, loadLlamaModule } from '../../server/native/llama';

export interface LlamaTestProviderOptions {
  /** Model name (as in GenerateRequest.model) → GGUF path. */
  models: Record<string, string>;
  threads?: number;
  contextSize?: number;
  /** Random-weight models may pick end-of-sequence at once; benchmarks need tokens. Default true. */
  suppressEos?: boolean;
}

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  completion: LlamaCompletion;
  bias?: TokenBias;
}

export class LlamaTestProvider implements Provider {
  readonly id = 'local';
  readonly type = 'local' as const;
  readonly kind = 'local' as const;
  private readonly loaded = new Map<string, Promise<Loaded>>();
  // One generation at a time: a cancelled one may still be winding down in llama.cpp.
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LlamaTestProviderOptions) {}

  generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const run = this.tail.then(() => this.run(req, opts));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    opts.signal.throwIfAborted();
    const l = await this.load(req.model);
    const prompt = req.prompt ?? (req.messages ?? []).map((m) => m.content).join('\n');
    const promptTokens = l.model.tokenize(prompt).length;
    let completionTokens = 0;
    try {
      const res = await l.completion.generateCompletionWithMeta(prompt, {
        maxTokens: req.maxTokens ?? 64,
        temperature: req.temperature ?? 0,
        signal: opts.signal,
        ...(l.bias ? { tokenBias: l.bias } : {}),
        onToken: (tokens) => {
          completionTokens += tokens.length;
        },
        onTextChunk: (text) => {
          if (text) opts.onDelta?.(text);
        },
      });
      return {
        text: res.response,
        usage: { promptTokens, completionTokens },
        finishReason: res.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      };
    } catch (e) {
      if (opts.signal.aborted) throw opts.signal.reason;
      throw new ProviderError('unknown', e instanceof Error ? e.message : String(e), { cause: e });
    }
  }

  private load(name: string): Promise<Loaded> {
    let p = this.loaded.get(name);
    if (!p) {
      const modelPath = this.opts.models[name];
      if (!modelPath) return Promise.reject(new ProviderError('model_missing', `no test model named ${name}`));
      p = (async () => {
        const mod = await loadLlamaModule();
        const threads = this.opts.threads ?? 2;
        const llama = await getSharedLlama({ gpu: false, maxThreads: threads });
        const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
        const context = await model.createContext({ contextSize: this.opts.contextSize ?? 1024, threads });
        const completion = new mod.LlamaCompletion({ contextSequence: context.getSequence() });
        const eos = model.tokens.eos;
        const bias =
          this.opts.suppressEos !== false && eos !== null
            ? new mod.TokenBias(model.tokenizer).set(eos, 'never')
            : undefined;
        return { model, context, completion, ...(bias ? { bias } : {}) };
      })();
      this.loaded.set(name, p);
    }
    return p;
  }

  /** Resolves when no generation is running (a cancelled one has really stopped). */
  async idle(): Promise<void> {
    await this.tail;
  }

  async dispose(): Promise<void> {
    await this.tail;
    for (const p of this.loaded.values()) {
      const l = await p.catch(() => undefined);
      if (!l) continue;
      l.completion.dispose();
      await l.context.dispose();
      await l.model.dispose();
    }
    this.loaded.clear();
  }
}
