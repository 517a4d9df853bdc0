// What the non-OpenAI wire formats (Anthropic, Gemini, Ollama) share when they translate Backstop's
// chat messages: tool-call arguments as JSON objects, tool results matched to their calls by id,
// images as bytes or URLs, and fill-in-the-middle in chat form for models without a FIM endpoint.
import type { GenerateOptions, GenerateRequest, GenerateResult } from '../core/types';
import { ProviderError } from '../core/types';
import { parseDataUrl } from '../../protocol/messages';
import type { ChatMessage, ToolCall } from '../../protocol/types';
import { isRecord } from './errorBody';
import { cleanFimAnswer, fimChatMessages } from './fimChat';
import type { ErrorContext } from './http';

/**
 * A tool call's `arguments` (the JSON text the model wrote) as the object the native formats carry.
 * Empty text is a call without arguments; anything but a JSON object is refused before the call.
 */
export function toolArguments(ec: ErrorContext, call: ToolCall): Record<string, unknown> {
  if (call.arguments.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.arguments);
  } catch {
    throw new ProviderError(
      'bad_request',
      `${ec.label}: the arguments of tool call "${call.id}" (${call.name}) are not JSON; this wire format carries them as an object`,
    );
  }
  if (!isRecord(parsed))
    throw new ProviderError(
      'bad_request',
      `${ec.label}: the arguments of tool call "${call.id}" (${call.name}) are not a JSON object`,
    );
  return parsed;
}

/**
 * The function name each tool result answers (formats that answer by name), by message position:
 * the nearest earlier assistant call with that id, so ids reused across rounds resolve correctly.
 */
export function toolResultNames(messages: readonly ChatMessage[]): (string | undefined)[] {
  const names = new Map<string, string>();
  return messages.map((m) => {
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) names.set(c.id, c.name);
    return m.role === 'tool' ? names.get(m.toolCallId) : undefined;
  });
}

/**
 * An id for a tool call the upstream gave none (Gemini, Ollama): `call_<n>_<random>`, unique across
 * the rounds of a conversation, as clients match results to calls by id.
 */
export function newToolCallId(index: number): string {
  return `call_${index}_${globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

export type ImageSource = { kind: 'data'; mediaType: string; base64: string } | { kind: 'url'; url: string };

/** An image part's URL: its bytes when it is a data URL, else the URL itself. */
export function imageSource(url: string): ImageSource {
  const data = parseDataUrl(url);
  return data === undefined ? { kind: 'url', url } : { kind: 'data', mediaType: data.mediaType, base64: data.base64 };
}

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
};

/** The media type an image URL's extension names (JPEG when it names none). */
export function imageTypeOfUrl(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // Not a URL we can parse: look at the text itself.
  }
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (ext === undefined ? undefined : IMAGE_TYPES[ext]) ?? 'image/jpeg';
}

/**
 * Fill-in-the-middle on a chat model: the model is asked for exactly the text between prefix and
 * suffix, and its answer is cleaned as a whole (fences, repeats), so it reaches the caller in one piece.
 */
export async function fimInChatForm(
  req: GenerateRequest,
  opts: GenerateOptions,
  chat: (req: GenerateRequest, opts: GenerateOptions) => Promise<GenerateResult>,
): Promise<GenerateResult> {
  const prefix = req.prompt ?? '';
  const suffix = req.suffix ?? '';
  const { suffix: _s, prompt: _p, ...rest } = req;
  const r = await chat({ ...rest, messages: fimChatMessages(prefix, suffix) }, { signal: opts.signal });
  const text = cleanFimAnswer(r.text, prefix, suffix);
  if (text !== '') opts.onDelta?.(text);
  return { ...r, text };
}
