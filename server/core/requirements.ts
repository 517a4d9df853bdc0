// What a request needs from a model (tools, images, structured output, room in its context) and
// whether a model has it: the engine skips a model that cannot serve the request, with the reason in
// the attempt trace, instead of sending it a request it must refuse.
import type { Capability } from '../../protocol/enums';
import type { ChatMessage } from '../../protocol/types';
import type { EngineRequest, ResolvedModel } from './engineTypes';

/** Rough characters per token for estimates before any tokenizer is involved (code and prose). */
export const CHARS_PER_TOKEN = 4;
/** The completion budget assumed when a request states no maxTokens. */
export const DEFAULT_COMPLETION_TOKENS = 256;
/** Room kept free in a model's context beyond the answer (chat template, special tokens). */
export const CONTEXT_MARGIN_TOKENS = 32;
/** What an image costs in context, roughly (providers tile and price them differently). */
const IMAGE_TOKENS = 800;

export interface RequestNeeds {
  capabilities: Capability[];
  /** Prompt tokens (estimated) plus the answer's maxTokens. */
  contextTokens: number;
}

export function messageChars(m: ChatMessage): number {
  if (typeof m.content === 'string') {
    const calls = m.role === 'assistant' ? (m.toolCalls ?? []) : [];
    return m.content.length + calls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
  }
  return m.content.reduce((n, p) => n + (p.type === 'text' ? p.text.length : IMAGE_TOKENS * CHARS_PER_TOKEN), 0);
}

export function needsOf(req: EngineRequest): RequestNeeds {
  const caps = new Set<Capability>();
  const messages = req.messages ?? [];
  const usesTools =
    ((req.tools?.length ?? 0) > 0 && req.toolChoice !== 'none') ||
    messages.some((m) => m.role === 'tool' || (m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0));
  if (usesTools) caps.add('tools');
  if (
    messages.some(
      (m) => m.role === 'user' && typeof m.content !== 'string' && m.content.some((p) => p.type === 'image'),
    )
  )
    caps.add('vision');
  if (req.responseFormat && req.responseFormat.type !== 'text') caps.add('json');
  return { capabilities: [...caps], contextTokens: estimateContextTokens(req) };
}

/** Tokens the request needs in the context window: prompt (≈ chars/4) plus the completion budget. */
export function estimateContextTokens(req: {
  prompt?: string | undefined;
  suffix?: string | undefined;
  messages?: readonly ChatMessage[] | undefined;
  tools?: readonly unknown[] | undefined;
  maxTokens?: number | undefined;
}): number {
  let chars = (req.prompt?.length ?? 0) + (req.suffix?.length ?? 0);
  for (const m of req.messages ?? []) chars += messageChars(m);
  for (const t of req.tools ?? []) chars += JSON.stringify(t).length;
  return Math.ceil(chars / CHARS_PER_TOKEN) + (req.maxTokens ?? DEFAULT_COMPLETION_TOKENS);
}

/**
 * The conversation cut to fit a context of `contextLength` tokens by leaving out whole turns from the
 * oldest (a turn starts at a user message and holds the answers and tool results that follow it, so a
 * tool call never loses its result). System messages and the last turn always stay. Undefined when
 * there is nothing to leave out or even the last turn alone does not fit.
 */
export function trimConversation(
  req: { messages?: readonly ChatMessage[] | undefined; tools?: readonly unknown[] | undefined; maxTokens?: number },
  contextLength: number,
): { messages: ChatMessage[]; droppedTurns: number; droppedTokens: number } | undefined {
  const msgs = req.messages ?? [];
  const starts = msgs.flatMap((m, i) => (m.role === 'user' ? [i] : []));
  const all = estimateContextTokens(req);
  for (let k = 1; k < starts.length; k++) {
    const from = starts[k]!;
    const kept = msgs.filter((m, i) => m.role === 'system' || i >= from);
    const need = estimateContextTokens({ ...req, messages: kept });
    if (need + CONTEXT_MARGIN_TOKENS <= contextLength)
      return { messages: kept, droppedTurns: k, droppedTokens: all - need };
  }
  return undefined;
}

/** Fewest answer tokens worth lowering maxTokens to; with less room the engine moves to the next model. */
export const MIN_FITTED_ANSWER_TOKENS = 16;

/**
 * The maxTokens that lets this request's prompt and answer fit a context of `contextLength` tokens
 * (CONTEXT_MARGIN_TOKENS kept free), when that is below what the request asked and still at least
 * MIN_FITTED_ANSWER_TOKENS; else undefined (it fits as asked, or the prompt alone leaves no room).
 */
export function maxTokensToFit(
  req: Parameters<typeof estimateContextTokens>[0],
  contextLength: number,
): number | undefined {
  const asked = req.maxTokens ?? DEFAULT_COMPLETION_TOKENS;
  const prompt = estimateContextTokens({ ...req, maxTokens: 0 });
  const room = contextLength - prompt - CONTEXT_MARGIN_TOKENS;
  return room >= MIN_FITTED_ANSWER_TOKENS && room < asked ? room : undefined;
}

/** Why `model` cannot serve a request with these needs, or undefined when it can (or nobody knows). */
export function unmetNeed(
  needs: RequestNeeds,
  model: Pick<ResolvedModel, 'capabilities' | 'contextLength'>,
  opts: { checkContext: boolean },
): string | undefined {
  const caps = model.capabilities;
  if (caps) {
    const missing = needs.capabilities.filter((c) => !caps.includes(c));
    if (missing.length) return `lacks ${missing.map(describe).join(' and ')}`;
  }
  if (opts.checkContext && model.contextLength !== undefined && needs.contextTokens > model.contextLength)
    return `context ${model.contextLength} < ${needs.contextTokens} needed (prompt + maxTokens)`;
  return undefined;
}

function describe(c: Capability): string {
  if (c === 'vision') return 'vision (image input)';
  if (c === 'json') return 'structured output (response_format)';
  if (c === 'tools') return 'tools (function calling)';
  return c;
}

/**
 * Fill-in-the-middle text trimmed to a model's context: the end of the prefix and the start of the
 * suffix matter most (the cursor is between them), so the prefix loses its head and the suffix its tail.
 */
export function fitFimToContext(
  prefix: string,
  suffix: string,
  contextTokens: number,
  maxTokens: number,
): { prefix: string; suffix: string; trimmed: boolean } {
  const budgetChars = Math.max(0, (contextTokens - maxTokens - CONTEXT_MARGIN_TOKENS) * CHARS_PER_TOKEN);
  if (prefix.length + suffix.length <= budgetChars) return { prefix, suffix, trimmed: false };
  // Three quarters for what comes before the cursor, as editors' own completion engines do.
  const suffixBudget = Math.min(suffix.length, Math.floor(budgetChars / 4));
  const prefixBudget = Math.min(prefix.length, budgetChars - suffixBudget);
  return {
    prefix: prefix.slice(prefix.length - prefixBudget),
    suffix: suffix.slice(0, budgetChars - prefixBudget),
    trimmed: true,
  };
}
