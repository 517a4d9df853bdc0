// Every backstop.* VS Code setting, declared once. A setting that mirrors a daemon config key takes
// its schema from `configSchema` (type, enum, bounds, default are never retyped); a client-only
// setting declares its schema here. Next to each schema sits what only VS Code needs (order, scope,
// texts). `npm run gen:settings` turns this into `contributes.configuration` in package.json.
// Not imported by the thin client (it pulls in zod); the client reads settings through client/settings.ts.
import * as z from 'zod';
import { configSchema, localProviderSchema, type ProviderConfig, type ProviderType } from './config';
import type { Strategy } from './enums';

export const SETTINGS_SECTION = 'backstop';
export const SETTINGS_TITLE = 'Backstop';

/** vscode-languageclient's trace levels for `<section>.trace.server` ("off" is left out: the log level decides). */
export const TRACE_SERVER_LEVELS = ['messages', 'verbose'] as const;
export type TraceServerLevel = (typeof TRACE_SERVER_LEVELS)[number];

/** Where a setting may be set (VS Code's `scope`); VS Code's default is `window`. */
export type SettingScope =
  'application' | 'machine' | 'machine-overridable' | 'window' | 'resource' | 'language-overridable';

/** The text shown for a setting or property: plain or Markdown, not both. */
export type SettingText =
  | { readonly description: string; readonly markdownDescription?: never }
  | { readonly markdownDescription: string; readonly description?: never };

/**
 * What VS Code shows about a property of an object value (e.g. a provider). `patternErrorMessage`
 * comes from the schema's own regex message unless given here.
 */
export type PropertyMeta = SettingText & {
  /** One text per enum value, by value (the generator puts them in the enum's order). */
  readonly enumDescriptions?: Readonly<Record<string, string>>;
  readonly patternErrorMessage?: string;
};

export interface ItemsMeta {
  readonly patternErrorMessage?: string;
  /** Texts of the items' properties; their order here is the order in the generated schema. */
  readonly properties?: Readonly<Record<string, PropertyMeta>>;
}

/** The VS Code-only part of a setting. */
export type SettingMeta = PropertyMeta & {
  /** Position in the Settings editor. */
  readonly order: number;
  readonly scope?: SettingScope;
  /** For array settings: what is shown about the items. */
  readonly items?: ItemsMeta;
};

export interface SettingDeclaration {
  /** The value's schema: taken from `configSchema` for a daemon key, declared here for a client-only setting. */
  readonly schema: z.ZodType;
  /** The daemon config path the setting feeds (absent: the client uses it itself). */
  readonly daemon?: string;
  readonly meta: SettingMeta;
}

const config = configSchema.shape;
const inline = config.inline.unwrap().shape;
const purposes = config.purposes.unwrap().shape;

/** Every key of a union of object types. */
type KeysOfUnion<T> = T extends unknown ? keyof T : never;
export type ProviderField = KeysOfUnion<ProviderConfig>;

/** Texts of a provider's fields; every field has one (a new field fails to compile until it does). */
const PROVIDER_FIELDS = {
  id: { description: 'Provider id: the part before "/" in model ids (e.g. "openai" in "openai/gpt-4o-mini").' },
  type: {
    description: 'The kind of provider: which API Backstop speaks to it.',
    enumDescriptions: {
      local: 'GGUF model files on this machine, run by llama.cpp (node-llama-cpp).',
      'openai-compatible': 'Any OpenAI-compatible API (OpenAI, LM Studio, vLLM, llama-server, …).',
      ollama: 'An Ollama server.',
      anthropic: 'The Anthropic Messages API.',
      gemini: 'The Google Gemini API.',
    } satisfies Record<ProviderType, string>,
  },
  baseUrl: { description: 'API base URL.' },
  apiKeyEnv: {
    description:
      'Environment variable holding the API key. Prefer "Backstop: Set API Key" (stored in the OS keychain).',
  },
  models: { description: 'Model names; discovered from the provider when omitted.' },
  modelsDirs: { description: 'Folders with GGUF files.' },
  maxConcurrency: { description: 'Most requests sent to this provider at the same time.' },
  contextSize: { description: 'Context size, in tokens, local models are loaded with.' },
  threads: { description: 'CPU threads for local inference.' },
  gpu: { description: 'Offload local models to the GPU.' },
  scan: { description: 'Which well-known model folders (LM Studio, Hugging Face, node-llama-cpp, llama.cpp) to scan.' },
  memoryBudgetBytes: { description: 'Most memory, in bytes, the loaded local models may use together.' },
  idleTtlMs: { description: 'Unload a local model after this many milliseconds without requests.' },
  downloads: {
    description: 'Where missing models can be downloaded from: model name → URL, optional SHA-256 and size.',
  },
  modelInfo: {
    description: 'Per-model facts the provider does not report: model name → context length, capabilities.',
  },
  headers: { description: 'Extra HTTP headers sent with every request. No API keys here.' },
  anthropicVersion: { description: 'The `anthropic-version` header to send.' },
  rateLimit: {
    description:
      "The provider's own limits (requestsPerMinute, tokensPerMinute): Backstop keeps under them, shared by the team with state.redis.",
  },
} satisfies Record<ProviderField, PropertyMeta>;

/** Files whose text is secrets by convention: requests from them stay local unless the user says otherwise. */
export const DEFAULT_LOCAL_ONLY_FILES = ['**/.env*', '**/secrets/**', '**/*.pem', '**/*.key'] as const;

export const SETTINGS = {
  'backstop.providers': {
    schema: config.providers,
    daemon: 'providers',
    meta: {
      order: 1,
      scope: 'machine',
      markdownDescription:
        'Model providers (local GGUF folders and cloud APIs). Model ids are `<providerId>/<modelName>`. ' +
        'API keys: run **Backstop: Set API Key**, never put keys here.',
      items: { properties: PROVIDER_FIELDS },
    },
  },
  'backstop.chain': {
    schema: config.chain,
    daemon: 'chain',
    meta: {
      order: 2,
      markdownDescription:
        'The fallback chain: the first model is the primary; the next ones are tried when it fails. ' +
        'Edit with **Backstop: Edit Fallback Chain**.',
    },
  },
  'backstop.strategy': {
    schema: config.strategy,
    daemon: 'strategy',
    meta: {
      order: 3,
      description: 'How the chain is used.',
      enumDescriptions: {
        sequential: 'Try the chain in order.',
        fastest: 'Prefer the model with the best measured latency.',
        load_balanced: 'Spread requests over healthy models.',
        cheapest: 'Healthy models by expected cost of the request (prices per model), ties by latency.',
      } satisfies Record<Strategy, string>,
    },
  },
  'backstop.timeoutMs': {
    schema: config.timeoutMs,
    daemon: 'timeoutMs',
    meta: { order: 4, description: `Timeout of one attempt, in milliseconds (${rangeOf(config.timeoutMs)}).` },
  },
  'backstop.maxRetries': {
    schema: config.maxRetries,
    daemon: 'maxRetries',
    meta: { order: 5, description: `Retries on the same model before falling back (${rangeOf(config.maxRetries)}).` },
  },
  'backstop.autoSwitch': {
    schema: config.autoSwitch,
    daemon: 'autoSwitch',
    meta: {
      order: 6,
      description:
        'Let the daemon adjust a request (smaller context, lower maxTokens, other model) when the planner recommends it.',
    },
  },
  'backstop.monitorVram': {
    schema: config.monitorVram,
    daemon: 'monitorVram',
    meta: {
      order: 7,
      description:
        "Watch free RAM and VRAM: warn (log, health recommendation) when the chain's local models no longer fit; a model that does not fit is refused before it loads.",
    },
  },
  'backstop.local.modelsDirs': {
    schema: localProviderSchema.shape.modelsDirs.unwrap().default([]),
    daemon: 'providers.*.modelsDirs',
    meta: {
      order: 8,
      scope: 'machine',
      markdownDescription:
        'Extra folders with GGUF models, added to every local provider (a provider `local` is created when none ' +
        'is configured).',
    },
  },
  'backstop.inlineCompletions.enabled': {
    schema: z.boolean().default(false),
    meta: { order: 20, description: 'Show inline (ghost text) completions from Backstop while typing.' },
  },
  'backstop.inline.chain': {
    schema: inline.chain,
    daemon: 'inline.chain',
    meta: {
      order: 21,
      markdownDescription: 'Chain for inline completions (fast models first). Empty: the main `backstop.chain`.',
    },
  },
  'backstop.inline.timeoutMs': {
    schema: inline.timeoutMs,
    daemon: 'inline.timeoutMs',
    meta: { order: 22, description: 'Deadline of an inline completion, in milliseconds.' },
  },
  'backstop.inline.maxTokens': {
    schema: inline.maxTokens,
    daemon: 'inline.maxTokens',
    meta: { order: 23, description: 'Most tokens an inline completion may generate.' },
  },
  'backstop.inline.budgetMs': {
    schema: purposes.inline.unwrap().shape.budgetMs,
    daemon: 'purposes.inline.budgetMs',
    meta: {
      order: 24,
      markdownDescription:
        'Latency budget of inline completions, in milliseconds: no first token by then and the next model in ' +
        'the chain is started too (hedged); models whose recent p95 first-token time exceeds it are tried ' +
        'last. `null`: no budget.',
    },
  },
  'backstop.chat.chain': {
    schema: purposes.chat.unwrap().shape.chain,
    daemon: 'purposes.chat.chain',
    meta: {
      order: 28,
      markdownDescription:
        'Chain for chat through the "Backstop" language model (Copilot Chat and other `vscode.lm` users). ' +
        'Empty: the main `backstop.chain`.',
    },
  },
  'backstop.inline.debounceMs': {
    schema: z.number().int().min(0).max(5000).default(300),
    meta: {
      order: 24,
      description: 'Wait this long after the last keystroke before asking for an inline completion.',
    },
  },
  'backstop.complete.maxTokens': {
    schema: z.number().int().min(1).max(8192).default(128),
    meta: { order: 25, description: 'Most tokens "Backstop: Complete" may generate.' },
  },
  'backstop.privacy.localOnly': {
    schema: z.boolean().default(false),
    meta: {
      order: 26,
      scope: 'resource',
      markdownDescription:
        'Keep every request from this workspace on this machine: cloud models are skipped ("privacy: local only") ' +
        'and a request no local model can answer fails instead of leaking. The status bar shows a lock while the ' +
        'guard applies to the active editor.',
    },
  },
  'backstop.privacy.localOnlyFiles': {
    schema: z.array(z.string().min(1)).default([...DEFAULT_LOCAL_ONLY_FILES]),
    meta: {
      order: 27,
      scope: 'resource',
      markdownDescription:
        'Glob patterns of files whose requests (inline completions, **Backstop: Complete**, chat with the file ' +
        'active) never reach a cloud model, e.g. `**/.env*`, `**/secrets/**`.',
    },
  },
  'backstop.statusBar.compact': {
    schema: z.boolean().default(false),
    meta: {
      order: 29,
      scope: 'window',
      markdownDescription:
        'Show only the icon and the health score in the status bar (`$(pulse) 66`) instead of `$(pulse) Backstop 66`.',
    },
  },
  'backstop.server.wsPort': {
    schema: z.number().int().min(0).max(65_535).nullable().default(null),
    meta: {
      order: 30,
      scope: 'machine',
      markdownDescription:
        'Also serve the protocol on a local WebSocket at this port for other tools (`0` picks a free port; ' +
        'the port and token are in `daemon.json` in the state folder). `null`: off. Changing it restarts the daemon.',
    },
  },
  'backstop.trace.server': {
    schema: z.enum(TRACE_SERVER_LEVELS).default('messages'),
    meta: {
      order: 31,
      scope: 'window',
      markdownDescription:
        'How much of the JSON-RPC traffic between VS Code and the Backstop daemon is written to the "Backstop" ' +
        'output channel while its log level is Trace ("Developer: Set Log Level"). `verbose` includes message ' +
        'parameters; API keys are redacted.',
      enumDescriptions: {
        messages: 'Method names and timings.',
        verbose: 'Method names, timings and parameters (API keys redacted).',
      } satisfies Record<TraceServerLevel, string>,
    },
  },
} as const satisfies Record<`${typeof SETTINGS_SECTION}.${string}`, SettingDeclaration>;

export type SettingKey = keyof typeof SETTINGS;

/** "a model id is …" → "A model id is ….": a schema message as a sentence for VS Code. */
export function sentence(message: string): string {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** The number inside wrappers (default, optional, nullable). */
export function numberSchemaOf(schema: z.ZodType): z.ZodNumber {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodNumber) return s;
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
    } else throw new Error(`not a number schema: ${s.def.type}`);
  }
}

/** "min–max" of a number schema, for texts. */
function rangeOf(schema: z.ZodType): string {
  const n = numberSchemaOf(schema);
  return `${n.minValue ?? '…'}–${n.maxValue ?? '…'}`;
}
