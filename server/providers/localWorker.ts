// The local-inference child process. node-llama-cpp runs here, isolated from the daemon's event
// loop: a native crash or abort in llama.cpp ends this process, and the daemon fails the attempt.
// Loaded models are kept within a memory budget (least recently used evicted) and unloaded after
// an idle TTL.
import type { FailureKind } from '../../protocol/types';
import type { FromWorker, ToWorker, WorkerGenerate, WorkerInit, WorkerTokenize } from './localWorkerProtocol';
import { messageText } from '../../protocol/messages';
import type { ToolCall } from '../../protocol/types';
import { forcedCallSchema, toChatHistory, toFunctions } from './localTools';

type Nlc = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<Nlc['getLlama']>>;
type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;

type LlamaSequence = ReturnType<LlamaContext['getSequence']>;

interface Loaded {
  path: string;
  model: LlamaModel;
  ctx?: LlamaContext;
  seq?: LlamaSequence;
  ctxSize?: number;
  gpuLayers?: number;
  bytes: number;
  /** RSS growth while its current context was created (KV cache, compute buffers). */
  ctxBytes?: number;
  lastUsed: number;
  busy: Promise<unknown>;
}

/** How long to wait for llama.cpp's log line that explains a failed load (it arrives after the rejection). */
const NATIVE_REASON_WAIT_MS = 250;
const IDLE_SWEEP_MS = 10_000;
const LOG_RING = 40;

let nlc: Nlc | undefined;
let llama: Llama | undefined;
let init: WorkerInit = { type: 'init', threads: 2, gpu: false, memoryBudgetBytes: 8 * 1024 ** 3, idleTtlMs: 600_000 };
const loaded = new Map<string, Loaded>();
const aborts = new Map<number, AbortController>();
const nativeLog: string[] = [];

function send(m: FromWorker): void {
  process.send?.(m);
}

async function getLlamaOnce(): Promise<Llama> {
  if (llama) return llama;
  nlc ??= await import('node-llama-cpp');
  llama = await nlc.getLlama({
    gpu: init.gpu ? 'auto' : false,
    maxThreads: init.threads,
    build: 'never',
    logLevel: nlc.LlamaLogLevel.warn,
    logger: (level, message) => {
      const line = `${String(level)}: ${message.trim()}`;
      nativeLog.push(line);
      if (nativeLog.length > LOG_RING) nativeLog.shift();
    },
  });
  return llama;
}

const loading = new Map<string, Promise<Loaded>>();

/** One load per file at a time: a second request during a load shares it (never two copies in RAM). */
async function loadModel(path: string, gpuLayers: number | undefined): Promise<Loaded> {
  const have = loaded.get(path);
  if (have && (gpuLayers === undefined || have.gpuLayers === gpuLayers)) return have;
  const inflight = loading.get(path);
  if (inflight) {
    const m = await inflight;
    return gpuLayers === undefined || m.gpuLayers === gpuLayers ? m : loadModel(path, gpuLayers);
  }
  const p = doLoad(path, gpuLayers, have).finally(() => loading.delete(path));
  loading.set(path, p);
  return p;
}

async function doLoad(path: string, gpuLayers: number | undefined, have: Loaded | undefined): Promise<Loaded> {
  if (have) await unload(path);
  const l = await getLlamaOnce();
  const before = process.memoryUsage().rss;
  const mark = nativeLog.length;
  let model: LlamaModel;
  try {
    model = await l.loadModel({ modelPath: path, ...(gpuLayers !== undefined ? { gpuLayers } : {}) });
  } catch (e) {
    throw await classifyLoadError(e, mark);
  }
  const entry: Loaded = {
    path,
    model,
    bytes: Math.max(0, process.memoryUsage().rss - before),
    lastUsed: Date.now(),
    busy: Promise.resolve(),
    ...(gpuLayers !== undefined ? { gpuLayers } : {}),
  };
  loaded.set(path, entry);
  await enforceBudget(path);
  send({ type: 'loaded', modelPath: path, loaded: [...loaded.keys()] });
  return entry;
}

async function classifyLoadError(e: unknown, mark: number): Promise<WorkerError> {
  const err = e as { code?: string; constructor?: { name?: string }; message?: string };
  if (err.code === 'ENOENT') return new WorkerError('model_missing', `model file not found: ${err.message ?? ''}`);
  if (err.constructor?.name === 'InsufficientMemoryError')
    return new WorkerError('out_of_memory', `not enough memory to load the model: ${err.message ?? ''}`);
  if (err.constructor?.name === 'InvalidGgufMagicError')
    return new WorkerError('model_load', `not a GGUF file (bad magic): ${err.message ?? ''}`);
  await new Promise((r) => setTimeout(r, NATIVE_REASON_WAIT_MS));
  const reason = nativeLog
    .slice(mark)
    .filter((l) => /error|fail|invalid|corrupt|expected|tensor/i.test(l))
    .slice(-3)
    .join(' | ');
  return new WorkerError(
    'model_load',
    `${err.message ?? 'failed to load model'}${reason ? ` — llama.cpp: ${reason}` : ''}`,
  );
}

/** Evict least recently used models (never the one just loaded) until the estimate fits the budget. */
async function enforceBudget(keep: string): Promise<void> {
  const total = () => [...loaded.values()].reduce((a, m) => a + m.bytes, 0);
  while (total() > init.memoryBudgetBytes && loaded.size > 1) {
    const lru = [...loaded.values()].filter((m) => m.path !== keep).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!lru) break;
    await unload(lru.path);
  }
}

async function unload(path: string): Promise<void> {
  const m = loaded.get(path);
  if (!m) return;
  loaded.delete(path);
  send({ type: 'loaded', modelPath: path, loaded: [...loaded.keys()] });
  await m.busy.catch(() => undefined);
  await m.ctx?.dispose().catch(() => undefined);
  await m.model.dispose().catch(() => undefined);
}

class WorkerError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** The model's one sequence at this context size (a context of one sequence hands it out once). */
async function sequenceFor(m: Loaded, size: number): Promise<LlamaSequence> {
  if (m.ctx && m.seq && m.ctxSize === size && !m.seq.disposed) return m.seq;
  void m.seq?.dispose();
  m.seq = undefined;
  await m.ctx?.dispose().catch(() => undefined);
  const mark = nativeLog.length;
  const before = process.memoryUsage().rss;
  try {
    m.ctx = await m.model.createContext({ contextSize: size, threads: init.threads, sequences: 1 });
    m.ctxBytes = Math.max(0, process.memoryUsage().rss - before);
  } catch (e) {
    m.ctx = undefined;
    if ((e as Error).constructor?.name === 'InsufficientMemoryError')
      throw new WorkerError(
        'out_of_memory',
        `context of ${size} tokens does not fit in memory: ${(e as Error).message}`,
      );
    throw await classifyLoadError(e, mark);
  }
  m.ctxSize = size;
  m.seq = m.ctx.getSequence();
  return m.seq;
}

function flatten(g: WorkerGenerate): string {
  if (g.prompt !== undefined) return g.prompt;
  return (g.messages ?? []).map((x) => `${x.role}: ${messageText(x)}`).join('\n') + '\nassistant:';
}

/**
 * Structured output by grammar: every token llama.cpp samples keeps the text valid JSON (matching the
 * schema when there is one), so even a small model answers something `JSON.parse` accepts.
 */
async function jsonGrammar(l: Llama, schema: Record<string, unknown> | undefined) {
  try {
    return schema
      ? await l.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0])
      : await l.getGrammarFor('json');
  } catch (e) {
    throw new WorkerError('bad_request', `the JSON Schema cannot be turned into a grammar: ${(e as Error).message}`);
  }
}

let calls = 0;
const callId = () => `call_local_${process.pid.toString(36)}_${(++calls).toString(36)}`;

/**
 * The grammar-forced answer `{ "name": …, "arguments": … }` as a tool call. The arguments are kept
 * as the model wrote them (a re-serialised `1e999` would become `null`).
 */
function forcedCall(json: string): ToolCall {
  let v: { name?: unknown };
  try {
    v = JSON.parse(json) as typeof v;
  } catch {
    // Only when generation stopped mid-object (maxTokens): the caller sees an error, never half a call.
    throw new WorkerError('server_error', `the model's tool call was cut off at maxTokens: raise maxTokens`);
  }
  const key = /"arguments"\s*:\s*/.exec(json);
  const raw = key
    ? json
        .slice(key.index + key[0].length)
        .trimEnd()
        .replace(/\}$/, '')
        .trimEnd()
    : '{}';
  return { id: callId(), name: String(v.name), arguments: raw };
}

/** OpenAI's logit_bias (token id → -100…100) as node-llama-cpp's token bias; -100 bans the token. */
function tokenBias(model: LlamaModel, bias: Record<string, number>) {
  const tb = new nlc!.TokenBias(model.tokenizer);
  for (const [id, b] of Object.entries(bias)) {
    const token = Number(id);
    if (!Number.isInteger(token) || token < 0) continue;
    tb.set(token as never, b <= -100 ? 'never' : { logit: b });
  }
  return tb;
}

/** Vocabulary-only models, for token counts of models not in memory (a few MB each, not the weights). */
const vocabs = new Map<string, Promise<LlamaModel>>();
const MAX_VOCABS = 4;

async function tokenize(t: WorkerTokenize): Promise<void> {
  try {
    let model = loaded.get(t.modelPath)?.model;
    if (!model) {
      let p = vocabs.get(t.modelPath);
      if (!p) {
        const l = await getLlamaOnce();
        p = l.loadModel({ modelPath: t.modelPath, vocabOnly: true });
        vocabs.set(t.modelPath, p);
        p.catch(() => vocabs.delete(t.modelPath));
        for (const [k, old] of vocabs)
          if (vocabs.size > MAX_VOCABS && k !== t.modelPath) {
            vocabs.delete(k);
            void old.then((m) => m.dispose()).catch(() => undefined);
          }
      }
      model = await p;
    }
    const m = model;
    send({ type: 'tokens', id: t.id, counts: t.texts.map((s) => m.tokenize(s).length) });
  } catch (e) {
    const err = e instanceof WorkerError ? e : await classifyLoadError(e, nativeLog.length);
    send({ type: 'error', id: t.id, kind: err.kind, message: err.message });
  }
}

async function generate(g: WorkerGenerate): Promise<void> {
  const ac = new AbortController();
  aborts.set(g.id, ac);
  try {
    const m = await loadModel(g.modelPath, g.gpuLayers);
    m.lastUsed = Date.now();
    // One sequence per model: serialise generations on the same model.
    const run = m.busy.catch(() => undefined).then(() => runOn(m, g, ac.signal));
    m.busy = run;
    await run;
  } catch (e) {
    if (ac.signal.aborted) send({ type: 'error', id: g.id, kind: 'cancelled', message: 'generation cancelled' });
    else if (e instanceof WorkerError) send({ type: 'error', id: g.id, kind: e.kind, message: e.message });
    else send({ type: 'error', id: g.id, kind: 'unknown', message: (e as Error).message ?? String(e) });
  } finally {
    aborts.delete(g.id);
  }
}

async function runOn(m: Loaded, g: WorkerGenerate, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason;
  const n = nlc!;
  const seq = await sequenceFor(m, g.contextSize);
  try {
    await seq.clearHistory();
    const promptText = flatten(g);
    const promptTokens = m.model.tokenize(promptText + (g.suffix ?? '')).length;
    if (promptTokens + g.maxTokens > g.contextSize) {
      throw new WorkerError(
        'context_overflow',
        `prompt (${promptTokens} tokens) + maxTokens (${g.maxTokens}) exceed the context size ${g.contextSize}`,
      );
    }
    let completionTokens = 0;
    let streamed = '';
    const forced = g.messages && g.useChatTemplate ? forcedCallSchema(g.tools, g.toolChoice) : undefined;
    const grammar = forced
      ? await jsonGrammar(m.model.llama, forced as Record<string, unknown>)
      : g.json
        ? await jsonGrammar(m.model.llama, g.json.schema)
        : undefined;
    const penalties =
      g.presencePenalty !== undefined || g.frequencyPenalty !== undefined
        ? {
            repeatPenalty: {
              ...(g.presencePenalty !== undefined ? { presencePenalty: g.presencePenalty } : {}),
              ...(g.frequencyPenalty !== undefined ? { frequencyPenalty: g.frequencyPenalty } : {}),
            },
          }
        : {};
    const common = {
      maxTokens: g.maxTokens,
      temperature: g.temperature,
      ...(g.topP !== undefined ? { topP: g.topP } : {}),
      ...(g.seed !== undefined ? { seed: g.seed } : {}),
      ...penalties,
      ...(g.logitBias ? { tokenBias: tokenBias(m.model, g.logitBias) } : {}),
      signal,
      onToken: (t: readonly unknown[]) => (completionTokens += t.length),
      onTextChunk: (text: string) => {
        // A forced tool call is grammar-shaped JSON, not text for the reader: it is sent whole at the end.
        if (!text || signal.aborted || forced) return;
        streamed += text;
        send({ type: 'delta', id: g.id, text });
      },
      ...(g.stop?.length ? { customStopTriggers: g.stop } : {}),
    };
    let text: string;
    let stop: string;
    let toolCalls: ToolCall[] = [];
    let mode: 'chat' | 'infill' | 'completion' = 'chat';
    if (g.messages && g.useChatTemplate) {
      const chat = new n.LlamaChat({ contextSequence: seq, autoDisposeSequence: false });
      const history = toChatHistory(g.messages);
      const functions = forced ? undefined : toFunctions(g.tools, g.toolChoice);
      const r = await chat.generateResponse(
        history,
        functions
          ? {
              ...common,
              functions,
              documentFunctionParams: true,
              ...(g.parallelToolCalls === false ? { maxParallelFunctionCalls: 1 } : {}),
            }
          : { ...common, ...(grammar ? { grammar } : {}) },
      );
      stop = r.metadata.stopReason;
      if (forced) {
        toolCalls = [forcedCall(r.response)];
        text = '';
      } else {
        text = r.response;
        toolCalls = (r.functionCalls ?? []).map((c) => ({
          id: callId(),
          name: c.functionName,
          arguments: JSON.stringify(c.params ?? {}),
        }));
      }
      chat.dispose({ disposeSequence: false });
    } else {
      const completion = new n.LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
      const opts = { ...common, ...(grammar ? { grammar } : {}) };
      mode = g.suffix !== undefined && completion.infillSupported ? 'infill' : 'completion';
      const r =
        mode === 'infill'
          ? await completion.generateInfillCompletionWithMeta(promptText, g.suffix ?? '', opts)
          : await completion.generateCompletionWithMeta(promptText, opts);
      text = r.response;
      stop = r.metadata.stopReason;
      completion.dispose({ disposeSequence: false });
    }
    if (signal.aborted || stop === 'abort') throw signal.reason ?? new Error('aborted');
    // node-llama-cpp holds back bytes of an unfinished UTF-8 character and may flush them only
    // into the final text: send the rest so the streamed deltas always add up to the answer.
    if (text.length > streamed.length && text.startsWith(streamed))
      send({ type: 'delta', id: g.id, text: text.slice(streamed.length) });
    const finishReason = toolCalls.length ? 'tool_calls' : stop === 'maxTokens' ? 'length' : 'stop';
    // onToken misses tokens held back that way (measured: maxTokens − 1, or + 1 after a long run);
    // a maxTokens stop means exactly maxTokens were generated.
    if (stop === 'maxTokens') completionTokens = g.maxTokens;
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    // Two lower bounds of the model's own memory: node-llama-cpp's allocation (weights + context
    // state) and the RSS growth at its load and context creation (which misses pages still unmapped
    // and memory reused from an earlier model). Never the process's peak, which holds every model.
    const modelBytes = Math.max(m.model.size + (m.ctx?.stateSize ?? 0), m.bytes + (m.ctxBytes ?? 0));
    send({
      type: 'done',
      id: g.id,
      text,
      promptTokens,
      completionTokens,
      finishReason,
      mode,
      ...(toolCalls.length ? { toolCalls } : {}),
      peakRssBytes,
      modelBytes,
    });
  } finally {
    m.lastUsed = Date.now();
  }
}

process.on('message', (raw: ToWorker) => {
  switch (raw.type) {
    case 'init':
      init = raw;
      send({ type: 'ready' });
      break;
    case 'generate':
      void generate(raw);
      break;
    case 'tokenize':
      void tokenize(raw);
      break;
    case 'abort':
      aborts.get(raw.id)?.abort(new Error('cancelled'));
      break;
    case 'unload':
      void (raw.modelPath ? unload(raw.modelPath) : Promise.all([...loaded.keys()].map(unload)));
      break;
  }
});

setInterval(() => {
  const now = Date.now();
  for (const m of loaded.values()) if (now - m.lastUsed > init.idleTtlMs && aborts.size === 0) void unload(m.path);
}, IDLE_SWEEP_MS).unref();

// The daemon went away: nothing left to serve.
process.on('disconnect', () => process.exit(0));
