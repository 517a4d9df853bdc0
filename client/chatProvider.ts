// The chain as a VS Code language model (vendor "backstop"): Chat's model picker and every extension
// that calls `vscode.lm` get "Backstop" (the configured chain), each named chain and each ready model.
// A request goes to `backstop/complete` with a streamId; text and tool calls stream back as response
// parts. Fallbacks stay out of the answer: the status bar shows which model served and the trace is in
// "Backstop: Show Logs".
//
// One limit of the API: parts already reported cannot be withdrawn. When a model fails after it has
// started answering, the daemon moves to the next one and says `reset`; the answer shown so far would
// then be the start of one model's answer followed by another's. The provider cancels the request and
// fails with a LanguageModelError that says so (ask again: the chain now starts with a model that
// works). A failure before the first piece falls back silently inside the same response.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import * as methods from '../protocol/methods';
import { namedChainOf } from '../protocol/modelId';
import type { CompleteParams, ModelInfo, Status, StreamDelta, Tool, ToolCall } from '../protocol/types';
import { countableText, estimateTokens, IMAGE_TOKENS, toChatMessages } from './chatMessages';
import type { Ctx } from './ctx';
import { formatAttempts } from './modelItems';
import { guardFor } from './privacy';
import { describeFailure } from './rpcErrors';

export const VENDOR = 'backstop';
/** The model id of the configured chain (the request leaves `chain` out). */
export const CONFIGURED_CHAIN_ID = 'backstop';
/** Context assumed when no model of a chain reports its context length. */
export const DEFAULT_CONTEXT_TOKENS = 8_192;
/** The most a chat answer is offered; smaller contexts give a quarter of their size. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;

export interface BackstopChatModel extends vscode.LanguageModelChatInformation {
  /** The `chain` param of the request; undefined: the configured chain. */
  readonly chain: string[] | undefined;
}

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
}

export class BackstopChatProvider implements vscode.LanguageModelChatProvider<BackstopChatModel>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changed.event;
  private models: ModelInfo[] = [];
  private chains: Record<string, string[]> = {};
  private signature = '';
  private lastChain = '';
  private loaded: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly version: string;

  constructor(private readonly ctx: Ctx) {
    this.version = String((ctx.extension.extension.packageJSON as { version?: unknown }).version ?? '0');
    this.disposables.push(
      this.changed,
      ctx.onModels((m) => {
        this.models = m;
        this.update();
      }),
      ctx.onDidChangeStatus((st) => {
        // A new chain may name chains configured since we last looked (setConfig from another client).
        const chain = JSON.stringify(chatChain(st));
        if (chain === this.lastChain) return this.update();
        this.lastChain = chain;
        void this.refresh();
      }),
      ctx.onDidChangeDaemonState((s) => {
        if (s === 'running') void this.refresh();
        else this.update();
      }),
      ctx.settings.onDidApply(() => void this.refresh()),
    );
    if (ctx.running) this.loaded = this.refresh();
  }

  /** Ask the daemon for its models and named chains, then tell VS Code if what we offer changed. */
  async refresh(): Promise<void> {
    const [models, config] = await Promise.all([this.ctx.fetchModels(), this.ctx.call(methods.getConfig)]);
    // A modelsChanged may have come after the models answer, before getConfig's: take the newest list.
    if (models.ok) this.models = this.ctx.models ?? models.value;
    if (config.ok) this.chains = config.value.chains;
    this.update();
  }

  private update(): void {
    const sig = JSON.stringify(this.information());
    if (sig === this.signature) return;
    this.signature = sig;
    this.changed.fire();
  }

  async provideLanguageModelChatInformation(): Promise<BackstopChatModel[]> {
    if (!this.loaded && this.ctx.running) this.loaded = this.refresh();
    await this.loaded;
    const info = this.information();
    this.signature = JSON.stringify(info);
    return info;
  }

  /** What we offer now: the configured chain, each named chain, each ready model. */
  information(): BackstopChatModel[] {
    const status = this.ctx.status;
    const out: BackstopChatModel[] = [
      this.chainModel(CONFIGURED_CHAIN_ID, 'Backstop', undefined, chatChain(status), 'the configured chain'),
    ];
    for (const [name, entries] of Object.entries(this.chains))
      out.push(this.chainModel(`chain:${name}`, `Backstop: ${name}`, [`chain:${name}`], entries, `chain "${name}"`));
    for (const m of this.models) {
      if (m.availability !== 'ready') continue;
      const { maxInputTokens, maxOutputTokens } = budget(m.contextLength);
      out.push({
        id: m.id,
        name: m.id,
        family: m.name,
        version: this.version,
        detail: `${m.kind} · ${healthWord(m)}`,
        tooltip: `${m.id} on its own, through Backstop (no fallback).\n${healthLine(m)}`,
        maxInputTokens,
        maxOutputTokens,
        capabilities: { toolCalling: m.capabilities.includes('tools'), imageInput: m.capabilities.includes('vision') },
        chain: [m.id],
      });
    }
    return out;
  }

  private chainModel(
    id: string,
    name: string,
    chain: string[] | undefined,
    entries: readonly string[],
    what: string,
  ): BackstopChatModel {
    const ids = this.expand(entries);
    const known = ids.map((i) => this.models.find((m) => m.id === i)).filter((m): m is ModelInfo => !!m);
    const contexts = known.map((m) => m.contextLength).filter((c): c is number => c !== undefined);
    const { maxInputTokens, maxOutputTokens } = budget(contexts.length ? Math.min(...contexts) : undefined);
    const ready = known.filter((m) => m.availability === 'ready' && m.health.state !== 'open').length;
    return {
      id,
      name,
      family: 'backstop',
      version: this.version,
      detail: ids.length ? `${ids.length} models, ${ready} ready` : 'no chain set',
      tooltip: [
        `Backstop: ${what}. A model that fails hands the request to the next.`,
        ...ids.map((i, n) => {
          const m = known.find((k) => k.id === i);
          return `${n + 1}. ${m ? healthLine(m) : `${i}: unknown`}`;
        }),
      ].join('\n'),
      maxInputTokens,
      maxOutputTokens,
      // The engine skips a model that lacks what a request needs, so one capable model is enough.
      capabilities: {
        toolCalling: known.some((m) => m.capabilities.includes('tools')),
        imageInput: known.some((m) => m.capabilities.includes('vision')),
      },
      chain,
    };
  }

  /** Model ids of a chain, named chains expanded (each once, cycles ignored). */
  private expand(entries: readonly string[], seen = new Set<string>()): string[] {
    const out: string[] = [];
    for (const e of entries) {
      const named = namedChainOf(e);
      if (named === undefined) {
        if (!out.includes(e)) out.push(e);
        continue;
      }
      if (seen.has(named)) continue;
      seen.add(named);
      for (const i of this.expand(this.chains[named] ?? [], seen)) if (!out.includes(i)) out.push(i);
    }
    return out;
  }

  async provideLanguageModelChatResponse(
    model: BackstopChatModel,
    messages: readonly vscode.LanguageModelChatRequestMessage[],
    options: vscode.ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<vscode.LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    const streamId = randomUUID();
    const params: CompleteParams = {
      messages: toChatMessages(messages),
      purpose: 'chat',
      // Chat about the active editor is under that file's guard (backstop.privacy.*).
      ...guardFor(vscode.window.activeTextEditor?.document),
      priority: 'high',
      streamId,
      ...modelOptions(options.modelOptions),
    };
    if (model.chain) params.chain = model.chain;
    const tools: Tool[] = (options.tools ?? []).map((t) => ({
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      ...(t.inputSchema ? { parameters: t.inputSchema as Record<string, unknown> } : {}),
    }));
    if (tools.length) {
      params.tools = tools;
      if (options.toolMode === vscode.LanguageModelChatToolMode.Required) params.toolChoice = 'required';
    }

    // Our own token: a cut answer cancels the upstream request too.
    const cts = new vscode.CancellationTokenSource();
    const onCancel = token.onCancellationRequested(() => cts.cancel());
    let reported = false;
    let cut: StreamDelta | undefined;
    const pending = new Map<number, PendingCall>();
    const done = new Set<string>();
    const report = (call: PendingCall): void => {
      if (done.has(call.id)) return;
      done.add(call.id);
      reported = true;
      progress.report(new vscode.LanguageModelToolCallPart(call.id, call.name, parseInput(call.arguments)));
    };
    const sub = this.ctx.onStream((d) => {
      if (d.streamId !== streamId || cut) return;
      if (d.reset) {
        if (reported) {
          cut = d;
          cts.cancel();
          return;
        }
        pending.clear();
      }
      if (d.toolCall) {
        const tc = d.toolCall;
        // A new index means the calls before it are complete.
        for (const [i, c] of pending) if (i < tc.index && c.id && c.name) report(c);
        const c = pending.get(tc.index) ?? { id: '', name: '', arguments: '' };
        if (tc.id) c.id = tc.id;
        if (tc.name) c.name += tc.name;
        if (tc.arguments) c.arguments += tc.arguments;
        pending.set(tc.index, c);
      }
      if (d.delta) {
        reported = true;
        progress.report(new vscode.LanguageModelTextPart(d.delta));
      }
    });
    try {
      const r = await this.ctx.busy(this.ctx.call(methods.complete, params, cts.token));
      if (cut) {
        this.ctx.log.warn(`chat: the answer was cut: the model failed after it had started; ${cut.model} took over`);
        throw new vscode.LanguageModelError(
          `Backstop: the model that was answering failed part-way, and the chain moved on to ${cut.model}. ` +
            'The partial answer above cannot be withdrawn, so the request was stopped. Send it again: ' +
            'the chain now starts with a model that works.',
        );
      }
      if (!r.ok) {
        if (r.failure.kind === 'cancelled' && token.isCancellationRequested) return;
        const attempts = r.failure.kind === 'exhausted' ? (r.failure.data?.attempts ?? []) : [];
        for (const line of formatAttempts(attempts)) this.ctx.log.warn(`chat:  ${line}`);
        throw new vscode.LanguageModelError(
          `Backstop: ${describeFailure(r.failure)}${attempts.length ? ' The attempts are in "Backstop: Show Logs".' : ''}`,
        );
      }
      const result = r.value;
      // The result's calls are complete and authoritative; pieces not reported yet are reported now.
      const calls: ToolCall[] =
        result.toolCalls ??
        [...pending.values()].filter((c) => c.id && c.name).map((c) => ({ ...c }) satisfies ToolCall);
      for (const c of calls) report(c);
      if (!reported && result.text) progress.report(new vscode.LanguageModelTextPart(result.text));
      this.ctx.log.info(
        `chat: ${result.modelUsed} answered in ${Math.round(result.totalLatencyMs)} ms${result.fallbackOccurred ? ' after fallback' : ''}`,
      );
      if (result.fallbackOccurred) for (const line of formatAttempts(result.attempts)) this.ctx.log.info(`  ${line}`);
    } finally {
      sub.dispose();
      onCancel.dispose();
      cts.dispose();
    }
  }

  /**
   * Tokens by the serving model's own tokenizer where the daemon has it (the chain's first model, when
   * it is a local GGUF); else the documented estimate (characters / 4, images IMAGE_TOKENS each).
   */
  async provideTokenCount(
    model: BackstopChatModel,
    text: string | vscode.LanguageModelChatRequestMessage,
    token: vscode.CancellationToken,
  ): Promise<number> {
    const c = countableText(text);
    if (c.text === '') return c.images * IMAGE_TOKENS;
    const first = model.chain?.[0];
    const r = await this.ctx.call(methods.countTokens, { texts: [c.text], ...(first ? { model: first } : {}) }, token);
    return r.ok ? (r.value.counts[0] ?? 0) + c.images * IMAGE_TOKENS : estimateTokens(text);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** Input and output budget from a context length (the default when none is known). */
export function budget(context: number | undefined): { maxInputTokens: number; maxOutputTokens: number } {
  const total = context ?? DEFAULT_CONTEXT_TOKENS;
  const maxOutputTokens = Math.min(DEFAULT_MAX_OUTPUT_TOKENS, Math.max(1, Math.floor(total / 4)));
  return { maxInputTokens: Math.max(1, total - maxOutputTokens), maxOutputTokens };
}

function healthWord(m: ModelInfo): string {
  if (m.health.state === 'open') return 'circuit open';
  if (m.health.state === 'half_open') return 'recovering';
  return m.health.successCount + m.health.failureCount ? `${Math.round(m.health.successRate * 100)}% ok` : 'healthy';
}

function healthLine(m: ModelInfo): string {
  const latency = m.health.avgLatencyMs === null ? '' : `, ~${Math.round(m.health.avgLatencyMs)} ms`;
  return `${m.id}: ${m.availability}, ${healthWord(m)}${latency}${m.contextLength ? `, context ${m.contextLength}` : ''}`;
}

/** The model's JSON input; text that is not a JSON object is passed as `{ input: text }`. */
function parseInput(args: string): object {
  if (!args.trim()) return {};
  try {
    const v: unknown = JSON.parse(args);
    return typeof v === 'object' && v !== null ? v : { input: v };
  } catch {
    return { input: args };
  }
}

/** The request options VS Code passes through (`modelOptions`) that mean something to the daemon. */
function modelOptions(o: { readonly [name: string]: unknown } | undefined): Partial<CompleteParams> {
  if (!o) return {};
  const out: Partial<CompleteParams> = {};
  const maxTokens = o.maxTokens ?? o.max_tokens;
  if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0) out.maxTokens = maxTokens;
  if (typeof o.temperature === 'number') out.temperature = o.temperature;
  return out;
}

/** The chain chat requests use: backstop.chat.chain (purposes.chat) when set, else the main chain. */
function chatChain(status: Status | undefined): string[] {
  return status?.purposes?.chat.chain ?? status?.chain ?? [];
}
