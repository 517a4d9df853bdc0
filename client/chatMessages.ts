// VS Code's language-model messages → the daemon's ChatMessage list, and the token estimate.
// Parts are recognised by shape (not `instanceof`): messages from another extension arrive as this
// host's classes, but LanguageModelDataPart is newer than the @types/vscode this extension builds
// against (^1.104), and a shape check keeps the mapping testable without a running editor.
import * as vscode from 'vscode';
import type { ChatMessage, ContentPart, ToolCall } from '../protocol/types';

/** The documented estimate when no tokenizer is at hand: about four characters per token. */
export const CHARS_PER_TOKEN = 4;
/** What an image costs in context, roughly (the daemon's own estimate uses the same figure). */
export const IMAGE_TOKENS = 800;

/** `vscode.LanguageModelChatMessageRole.System` (3) exists in newer builds only. */
const ROLE_SYSTEM = 3;

interface TextLike {
  value: string;
}
interface ToolCallLike {
  callId: string;
  name: string;
  input: unknown;
}
interface ToolResultLike {
  callId: string;
  content: readonly unknown[];
}
interface DataLike {
  mimeType: string;
  data: Uint8Array;
}

const isObject = (p: unknown): p is Record<string, unknown> => typeof p === 'object' && p !== null;
export const isTextPart = (p: unknown): p is TextLike => isObject(p) && typeof p.value === 'string';
export const isToolCallPart = (p: unknown): p is ToolCallLike =>
  isObject(p) && typeof p.callId === 'string' && typeof p.name === 'string' && 'input' in p;
export const isToolResultPart = (p: unknown): p is ToolResultLike =>
  isObject(p) && typeof p.callId === 'string' && Array.isArray(p.content);
export const isDataPart = (p: unknown): p is DataLike =>
  isObject(p) && typeof p.mimeType === 'string' && p.data instanceof Uint8Array;

const decoder = new TextDecoder();

/** A tool result's content as the text the model reads: text parts as they are, anything else as JSON. */
function toolResultText(content: readonly unknown[]): string {
  return content
    .map((c) => {
      if (isTextPart(c)) return c.value;
      if (isDataPart(c)) return c.mimeType.startsWith('image/') ? `[image ${c.mimeType}]` : decoder.decode(c.data);
      try {
        return JSON.stringify(c);
      } catch {
        return String(c);
      }
    })
    .join('');
}

function dataUrl(p: DataLike): string {
  return `data:${p.mimeType};base64,${Buffer.from(p.data).toString('base64')}`;
}

/**
 * One VS Code message can become several daemon messages: tool results (which VS Code puts in a
 * User message) must follow the assistant's tool calls as `tool` messages, before any other user text.
 */
export function toChatMessages(messages: readonly vscode.LanguageModelChatRequestMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === vscode.LanguageModelChatMessageRole.Assistant) {
      let text = '';
      const toolCalls: ToolCall[] = [];
      for (const p of m.content) {
        if (isToolCallPart(p)) toolCalls.push({ id: p.callId, name: p.name, arguments: JSON.stringify(p.input ?? {}) });
        else if (isTextPart(p)) text += p.value;
      }
      out.push(
        toolCalls.length ? { role: 'assistant', content: text, toolCalls } : { role: 'assistant', content: text },
      );
      continue;
    }
    if ((m.role as number) === ROLE_SYSTEM) {
      out.push({
        role: 'system',
        content: m.content
          .filter(isTextPart)
          .map((p) => p.value)
          .join(''),
      });
      continue;
    }
    const parts: ContentPart[] = [];
    let toolResults = 0;
    for (const p of m.content) {
      if (isToolResultPart(p)) {
        out.push({ role: 'tool', toolCallId: p.callId, content: toolResultText(p.content) });
        toolResults++;
      } else if (isTextPart(p)) parts.push({ type: 'text', text: p.value });
      else if (isDataPart(p)) {
        if (p.mimeType.startsWith('image/')) parts.push({ type: 'image', url: dataUrl(p) });
        else parts.push({ type: 'text', text: decoder.decode(p.data) });
      }
    }
    const onlyText = parts.every((p) => p.type === 'text');
    if (parts.length === 0) {
      if (toolResults === 0) out.push({ role: 'user', content: '' });
    } else if (onlyText) {
      out.push({ role: 'user', content: parts.map((p) => (p.type === 'text' ? p.text : '')).join('') });
    } else out.push({ role: 'user', content: parts });
  }
  return out;
}

/** What of a message a tokenizer reads (its text, tool calls and results) and how many images it has. */
export function countableText(text: string | vscode.LanguageModelChatRequestMessage): { text: string; images: number } {
  if (typeof text === 'string') return { text, images: 0 };
  const out: string[] = [];
  let images = 0;
  for (const p of text.content) {
    if (isTextPart(p)) out.push(p.value);
    else if (isToolCallPart(p)) out.push(p.name, JSON.stringify(p.input ?? {}));
    else if (isToolResultPart(p)) out.push(toolResultText(p.content));
    else if (isDataPart(p)) {
      if (p.mimeType.startsWith('image/')) images++;
      else out.push(new TextDecoder().decode(p.data));
    }
  }
  return { text: out.join(''), images };
}

/**
 * The documented estimate, when the serving model's tokenizer is not at hand (cloud models, or the
 * daemon unreachable): characters / 4, and IMAGE_TOKENS per image.
 */
export function estimateTokens(text: string | vscode.LanguageModelChatRequestMessage): number {
  const c = countableText(text);
  return Math.ceil(c.text.length / CHARS_PER_TOKEN) + c.images * IMAGE_TOKENS;
}
