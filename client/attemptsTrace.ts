// A request's attempts as a trace a person reads (the "Show Attempts" view): each attempt, its failure
// kind in words, its latency, and why the next step was taken. Pure Markdown; no vscode import.
import { humanDuration } from '../protocol/humanTime';
import type { Attempt, CompleteResult, FailureKind } from '../protocol/types';

export interface RequestTrace {
  /** Shown in the title; the daemon's request id when known. */
  id: string;
  /** When the request was sent (ms, this machine's clock). */
  startedAt: number;
  attempts: readonly Attempt[];
  /** The model that answered, if any. */
  modelUsed?: string;
  totalLatencyMs?: number;
  queuedMs?: number;
  /** The daemon's message when no model answered. */
  error?: string;
  /** The chain's strategy (sequential, fastest, load_balanced), for "why this order". */
  strategy?: string;
}

/** The trace of one backstop/complete call: its result, or its failure (with the attempts when it has them). */
export function traceOf(
  id: string,
  startedAt: number,
  outcome:
    { ok: true; value: CompleteResult } | { ok: false; failure: { message: string; data?: { attempts?: Attempt[] } } },
  strategy: string | undefined,
  now: number,
): RequestTrace {
  const common = { id, startedAt, ...(strategy ? { strategy } : {}) };
  if (outcome.ok) {
    const r = outcome.value;
    return {
      ...common,
      attempts: r.attempts,
      modelUsed: r.modelUsed,
      totalLatencyMs: r.totalLatencyMs,
      queuedMs: r.queuedMs,
    };
  }
  return {
    ...common,
    attempts: outcome.failure.data?.attempts ?? [],
    totalLatencyMs: now - startedAt,
    error: outcome.failure.message,
  };
}

/** Each failure kind in words, and what the engine does after it. */
const KIND_WORDS: Record<FailureKind, [string, string]> = {
  rate_limited: ['rate limited', 'rate limited for longer than a retry may wait'],
  timeout: ['timed out', 'no answer in time'],
  network: ['could not be reached', 'the provider cannot be reached'],
  server_error: ['server error', 'server errors persisted after the retries'],
  auth: ['API key missing or rejected', 'a key problem is not retried'],
  bad_request: ['request rejected', 'the provider rejected the request'],
  context_overflow: ['prompt too long', 'the prompt needs a larger context'],
  content_filter: ['blocked by a content filter', 'another model may answer it'],
  stream_interrupted: ['answer cut off', 'the answer restarts elsewhere'],
  model_missing: ['model not found', 'the model is missing'],
  model_load: ['model failed to load', 'the model cannot run'],
  out_of_memory: ['out of memory', 'the model does not fit in memory'],
  cancelled: ['cancelled', 'the request stopped'],
  unsupported: ['cannot serve this request', 'the model lacks what the request needs'],
  unknown: ['failed', 'it failed'],
};

export function kindInWords(kind: FailureKind | undefined): string {
  return kind ? KIND_WORDS[kind][0] : 'failed';
}

/** Why the attempt after `i` happened (or why the request ended there). */
export function whyNext(attempts: readonly Attempt[], i: number, trace: Pick<RequestTrace, 'strategy'>): string {
  const a = attempts[i];
  if (!a) return '';
  const next = attempts[i + 1];
  if (a.outcome === 'success') return 'answered';
  if (!next) return a.outcome === 'cancelled' ? 'the request was cancelled' : 'no model left to try';
  if (next.model === a.model) return `retried the same model (try ${next.retry + 1})`;
  const because = a.outcome === 'skipped' ? 'skipped' : a.failure ? KIND_WORDS[a.failure][1] : 'it failed';
  const order =
    trace.strategy && trace.strategy !== 'sequential' ? `${trace.strategy.replace('_', ' ')} order` : 'chain order';
  return `${because}; next in ${order}: ${next.model}`;
}

/** One line per model: "cloud/a: server error (HTTP 503)", each model once, its last failure. */
export function reasonsPerModel(attempts: readonly Attempt[]): string[] {
  const last = new Map<string, Attempt>();
  for (const a of attempts) if (a.outcome !== 'success') last.set(a.model, a);
  return [...last.values()].map((a) => `${a.model}: ${failureText(a)}`);
}

/**
 * "server error (HTTP 503)": the failure in words with the provider's message, which often starts with
 * the model id and the same words already ("cloud/a: rate limited (HTTP 429)"): said once, not twice.
 */
export function failureText(a: Attempt): string {
  const kind = a.outcome === 'skipped' ? 'skipped' : kindInWords(a.failure);
  const raw = a.message?.trim() ?? '';
  const msg = raw.startsWith(`${a.model}: `) ? raw.slice(a.model.length + 2) : raw;
  if (!msg) return kind;
  return msg.toLowerCase().startsWith(kind.toLowerCase()) ? msg : `${kind} (${msg})`;
}

export function renderTrace(trace: RequestTrace): string {
  const n = trace.attempts.length;
  const head = trace.modelUsed
    ? `Answered by \`${trace.modelUsed}\`${n > 1 ? ` after ${n - 1} failed attempt${n === 2 ? '' : 's'}` : ''}`
    : 'No model could answer';
  const lines = [
    `# Backstop request — ${head}`,
    '',
    [
      `Sent at ${new Date(trace.startedAt).toLocaleTimeString()}`,
      trace.totalLatencyMs !== undefined ? `took ${humanDuration(trace.totalLatencyMs)}` : undefined,
      trace.queuedMs ? `queued ${humanDuration(trace.queuedMs)}` : undefined,
      `request ${trace.id}`,
    ]
      .filter(Boolean)
      .join(' · '),
    '',
  ];
  if (trace.error) lines.push(`> ${cell(trace.error)}`, '');
  lines.push('| # | Model | Outcome | Latency | Started | What happened next |', '|---|---|---|---|---|---|');
  trace.attempts.forEach((a, i) => {
    const outcome = a.outcome === 'success' ? 'answered' : failureText(a);
    lines.push(
      `| ${i + 1} | \`${a.model}\`${a.retry ? ` (try ${a.retry + 1})` : ''} | ${cell(outcome)} | ${humanDuration(a.latencyMs)} | ${
        a.startedAtMs === undefined ? '' : a.startedAtMs < 1 ? 'at once' : `after ${humanDuration(a.startedAtMs)}`
      } | ${cell(whyNext(trace.attempts, i, trace))} |`,
    );
  });
  if (n === 0) lines.push('| | | no model was tried | | | |');
  return lines.join('\n') + '\n';
}

/** Text inside a table cell: no pipes or line breaks to break the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
