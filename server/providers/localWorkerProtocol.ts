// Messages between the daemon and its local-inference child process (internal, not public API).
import type { ChatMessage, FailureKind, Tool, ToolCall, ToolChoice } from '../../protocol/types';

export interface WorkerInit {
  type: 'init';
  threads: number;
  gpu: boolean;
  memoryBudgetBytes: number;
  idleTtlMs: number;
}

export interface WorkerGenerate {
  type: 'generate';
  id: number;
  modelPath: string;
  contextSize: number;
  gpuLayers?: number;
  prompt?: string;
  messages?: ChatMessage[];
  suffix?: string;
  maxTokens: number;
  temperature: number;
  stop?: string[];
  useChatTemplate: boolean;
  /** Structured output: any JSON object, or one that matches this JSON Schema (a llama.cpp grammar). */
  json?: { schema?: Record<string, unknown> };
  /** Function calling through node-llama-cpp's chat wrappers (chat-template models only). */
  tools?: Tool[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** Sampling: nucleus, seed, OpenAI-style penalties and logit bias (token id → bias, -100…100). */
  topP?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  logitBias?: Record<string, number>;
}

/** Count tokens with the model's own tokenizer (only its vocabulary is loaded when it is not in memory). */
export interface WorkerTokenize {
  type: 'tokenize';
  id: number;
  modelPath: string;
  texts: string[];
}

export interface WorkerAbort {
  type: 'abort';
  id: number;
}
export interface WorkerUnload {
  type: 'unload';
  modelPath?: string;
}

export type ToWorker = WorkerInit | WorkerGenerate | WorkerTokenize | WorkerAbort | WorkerUnload;

export type FromWorker =
  | { type: 'ready' }
  | { type: 'delta'; id: number; text: string }
  | {
      type: 'done';
      id: number;
      text: string;
      promptTokens: number;
      completionTokens: number;
      finishReason: string;
      /** How it was generated: the chat template, the model's infill tokens, or a plain completion. */
      mode: 'chat' | 'infill' | 'completion';
      toolCalls?: ToolCall[];
      peakRssBytes: number;
      /** The serving model's own memory (weights, context state and buffers), not the process's. */
      modelBytes?: number;
    }
  | { type: 'tokens'; id: number; counts: number[] }
  | { type: 'error'; id: number; kind: FailureKind; message: string }
  | { type: 'loaded'; modelPath: string; loaded: string[] }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };
