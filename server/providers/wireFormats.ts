// One row per cloud wire format: its default base URL, its factory and what its models can do unless
// discovery says otherwise. The configuration schema of each type is the matching row of
// `cloudProviderSchemas` in protocol/config.ts; the compiler requires a row here for every type there.
// Adding a wire format: one provider file, one schema row, one row here, and its contract tests
// (test/integration/providers.contract.ts against the fault server).
import type { CloudProviderType } from '../../protocol/config';
import type { Capability } from '../../protocol/enums';
import type { Provider } from '../core/types';
import { AnthropicProvider } from './anthropic';
import { GeminiProvider } from './gemini';
import type { CloudContext } from './http';
import { OllamaProvider } from './ollama';
import { OpenAICompatibleProvider } from './openaiCompatible';

export interface WireFormat {
  /** Where the API lives when the configuration names no `baseUrl` (none: `baseUrl` is required). */
  readonly defaultBaseUrl: string | undefined;
  readonly create: (ctx: CloudContext) => Provider;
  /**
   * What Backstop can carry over this wire format: a model's capabilities (from its family, discovery
   * or `modelInfo`) are limited to these. Prompts go as chat where there is no text completion
   * endpoint, so every format can complete.
   */
  readonly capabilities: readonly Capability[];
}

export const WIRE_FORMATS: { readonly [T in CloudProviderType]: WireFormat } = {
  'openai-compatible': {
    defaultBaseUrl: undefined,
    create: (ctx) => new OpenAICompatibleProvider(ctx),
    capabilities: ['chat', 'completion', 'fim', 'tools', 'vision', 'json'],
  },
  ollama: {
    defaultBaseUrl: 'http://127.0.0.1:11434',
    create: (ctx) => new OllamaProvider(ctx),
    capabilities: ['chat', 'completion', 'fim', 'tools', 'vision', 'json'],
  },
  anthropic: {
    defaultBaseUrl: 'https://api.anthropic.com',
    create: (ctx) => new AnthropicProvider(ctx),
    // No JSON mode on the Messages API as Backstop speaks it: json requests skip Anthropic models.
    capabilities: ['chat', 'completion', 'tools', 'vision'],
  },
  gemini: {
    defaultBaseUrl: 'https://generativelanguage.googleapis.com',
    create: (ctx) => new GeminiProvider(ctx),
    capabilities: ['chat', 'completion', 'tools', 'vision', 'json'],
  },
};
