// One factory for every cloud wire format: config in, Provider out. The key is never stored here:
// `deps.getApiKey` is asked on every request, so setSecret and env changes apply at once.
import type { Logger, Provider } from '../core/types';
import type { CloudProviderConfig } from '../../protocol/config';
import { formatModelId } from '../../protocol/modelId';
import { ANTHROPIC_DEFAULT_BASE_URL, AnthropicProvider } from './anthropic';
import { GEMINI_DEFAULT_BASE_URL, GeminiProvider } from './gemini';
import type { CloudContext, ErrorContext } from './http';
import { OLLAMA_DEFAULT_BASE_URL, OllamaProvider } from './ollama';
import { OpenAICompatibleProvider } from './openaiCompatible';

export interface CloudProviderDeps {
  getApiKey: () => string | undefined;
  logger?: Logger;
}

export function createCloudProvider(cfg: CloudProviderConfig, deps: CloudProviderDeps): Provider {
  const ctx = cloudContext(cfg, deps);
  switch (cfg.type) {
    case 'openai-compatible':
      return new OpenAICompatibleProvider(ctx);
    case 'ollama':
      return new OllamaProvider(ctx);
    case 'anthropic':
      return new AnthropicProvider(ctx);
    case 'gemini':
      return new GeminiProvider(ctx);
  }
}

/** The default base URL of a cloud provider type (openai-compatible has none: its baseUrl is required). */
export function defaultBaseUrl(type: CloudProviderConfig['type']): string | undefined {
  switch (type) {
    case 'ollama':
      return OLLAMA_DEFAULT_BASE_URL;
    case 'anthropic':
      return ANTHROPIC_DEFAULT_BASE_URL;
    case 'gemini':
      return GEMINI_DEFAULT_BASE_URL;
    case 'openai-compatible':
      return undefined;
  }
}

/** The sentence that tells the user how to give this provider a key. */
export function authHint(cfg: Pick<CloudProviderConfig, 'id' | 'apiKeyEnv'>): string {
  const viaRpc = `call backstop/setSecret with providerId "${cfg.id}"`;
  return cfg.apiKeyEnv === undefined
    ? `Set an API key: ${viaRpc}, or add "apiKeyEnv" to provider "${cfg.id}" in the config and set that environment variable.`
    : `Set the ${cfg.apiKeyEnv} environment variable for the daemon, or ${viaRpc}.`;
}

const CREDENTIAL_HEADER_RE = /auth|key|token|secret|cookie|session/i;

function cloudContext(cfg: CloudProviderConfig, deps: CloudProviderDeps): CloudContext {
  const baseUrl = (cfg.baseUrl ?? defaultBaseUrl(cfg.type) ?? '').replace(/\/+$/, '');
  const headers = cfg.headers ?? {};
  const hint = authHint(cfg);
  // Config header values can be credentials too (a custom Authorization): redact them as well.
  const headerSecrets = Object.entries(headers).filter(([name]) => CREDENTIAL_HEADER_RE.test(name)).map(([, v]) => v);
  const secrets = (): (string | undefined)[] => [deps.getApiKey(), ...headerSecrets];
  const errorContext = (model?: string): ErrorContext => ({
    label: model === undefined ? cfg.id : formatModelId(cfg.id, model),
    authHint: hint,
    secrets,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  });
  return {
    id: cfg.id,
    baseUrl,
    headers,
    getApiKey: deps.getApiKey,
    modelInfo: cfg.modelInfo ?? {},
    ...(cfg.type === 'anthropic' && cfg.anthropicVersion !== undefined ? { anthropicVersion: cfg.anthropicVersion } : {}),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    errorContext,
  };
}
