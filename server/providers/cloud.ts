// One factory for every cloud wire format: config in, Provider out. The key is never stored here:
// `deps.getApiKey` is asked on every request, so setSecret and env changes apply at once.
import type { Logger, Provider } from '../core/types';
import type { CloudProviderConfig } from '../../protocol/config';
import { formatModelId } from '../../protocol/modelId';
import type { CloudContext, ErrorContext } from './http';
import { WIRE_FORMATS } from './wireFormats';

export interface CloudProviderDeps {
  getApiKey: () => string | undefined;
  logger?: Logger;
}

export function createCloudProvider(cfg: CloudProviderConfig, deps: CloudProviderDeps): Provider {
  return WIRE_FORMATS[cfg.type].create(cloudContext(cfg, deps));
}

/** The default base URL of a cloud provider type (openai-compatible has none: its baseUrl is required). */
export function defaultBaseUrl(type: CloudProviderConfig['type']): string | undefined {
  return WIRE_FORMATS[type].defaultBaseUrl;
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
  const headerSecrets = Object.entries(headers)
    .filter(([name]) => CREDENTIAL_HEADER_RE.test(name))
    .map(([, v]) => v);
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
    ...(cfg.type === 'anthropic' && cfg.anthropicVersion !== undefined
      ? { anthropicVersion: cfg.anthropicVersion }
      : {}),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    errorContext,
  };
}
