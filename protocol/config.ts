// The configuration schema: one zod schema gives the type, the defaults and the validation
// used by the daemon (config file, backstop/setConfig) and mirrored by the VS Code settings.
import * as z from 'zod';
import { CAPABILITIES, STRATEGIES, STREAM_FAILOVER_MODES } from './enums';
import { MODEL_ID_HINT, modelIdProblem, PROVIDER_ID_HINT, PROVIDER_ID_PATTERN } from './modelId';

const capability = z.enum(CAPABILITIES);

const providerId = z.string().regex(PROVIDER_ID_PATTERN, PROVIDER_ID_HINT);

/**
 * The shape of a model id as a plain pattern, which JSON Schema (the settings editor) can check too:
 * a provider id, "/", a name. `modelIdProblem` checks the rest and says what is wrong.
 */
const MODEL_ID_SHAPE = new RegExp(`${PROVIDER_ID_PATTERN.source.replace(/\$$/, '')}/.+$`);

const modelId = z
  .string()
  .superRefine((id, ctx) => {
    const problem = modelIdProblem(id);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, continue: false });
  })
  // Never fails after the check above; it is here for the JSON Schema.
  .regex(MODEL_ID_SHAPE, MODEL_ID_HINT);

const common = {
  id: providerId,
  maxConcurrency: z.number().int().min(1).max(256).optional(),
  /** Per-model overrides: context length and capabilities the provider does not report. */
  modelInfo: z
    .record(
      z.string(),
      z.object({ contextLength: z.number().int().positive().optional(), capabilities: z.array(capability).optional() }),
    )
    .optional(),
};

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/**
 * A provider's own limits (an org key's requests and tokens per minute). With `state.redis` every
 * daemon of the team draws from one shared bucket; without it each daemon keeps its own.
 */
export const rateLimitSchema = z.strictObject({
  requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
  tokensPerMinute: z.number().int().min(1).max(1_000_000_000).optional(),
});

const cloudCommon = {
  ...common,
  baseUrl: z.url().optional(),
  /** Name of the environment variable holding the API key. The key itself never goes in a file. */
  apiKeyEnv: envName.optional(),
  rateLimit: rateLimitSchema.optional(),
  models: z.array(z.string().min(1)).optional(),
  headers: z.record(z.string(), z.string()).optional(),
};

export const localProviderSchema = z.strictObject({
  ...common,
  type: z.literal('local'),
  modelsDirs: z.array(z.string()).optional(),
  /** Well-known model folders to scan besides modelsDirs. */
  scan: z
    .strictObject({
      lmStudio: z.boolean().default(true),
      huggingFace: z.boolean().default(true),
      nodeLlamaCpp: z.boolean().default(true),
      llamaCpp: z.boolean().default(true),
    })
    .partial()
    .optional(),
  contextSize: z.number().int().min(64).max(1_048_576).optional(),
  threads: z.number().int().min(1).max(256).optional(),
  memoryBudgetBytes: z.number().int().positive().optional(),
  idleTtlMs: z.number().int().min(1000).optional(),
  gpu: z.boolean().optional(),
  /** Where missing models can be downloaded from (download_and_retry): name → URL, sha256, size. */
  downloads: z
    .record(
      z.string(),
      z.strictObject({
        url: z.url(),
        // Both cases spelled out rather than the `i` flag, which JSON Schema patterns cannot carry.
        sha256: z
          .string()
          .regex(/^[a-fA-F0-9]{64}$/, 'a hex SHA-256')
          .optional(),
        sizeBytes: z.number().int().positive().optional(),
      }),
    )
    .optional(),
});

/**
 * One row per cloud wire format: its configuration schema. The daemon's row for the same type
 * (server/providers/wireFormats.ts: default base URL, factory, capabilities) is required by the
 * compiler once a row is added here.
 */
export const cloudProviderSchemas = {
  'openai-compatible': z.strictObject({ ...cloudCommon, type: z.literal('openai-compatible'), baseUrl: z.url() }),
  ollama: z.strictObject({ ...cloudCommon, type: z.literal('ollama') }),
  anthropic: z.strictObject({ ...cloudCommon, type: z.literal('anthropic'), anthropicVersion: z.string().optional() }),
  gemini: z.strictObject({ ...cloudCommon, type: z.literal('gemini') }),
} as const;

type CloudVariant = (typeof cloudProviderSchemas)[keyof typeof cloudProviderSchemas];
const cloudVariants = Object.values(cloudProviderSchemas) as [CloudVariant, ...CloudVariant[]];

export const cloudProviderSchema = z.discriminatedUnion('type', cloudVariants);

export const providerSchema = z.union([localProviderSchema, cloudProviderSchema]);

/** Ghost text is useless once the user has typed on: a first token within this long, or hedge. */
export const DEFAULT_INLINE_BUDGET_MS = 400;

function purposeSchema(budgetMs: number | null) {
  return z
    .strictObject({
      chain: z.array(z.string()).default([]),
      budgetMs: z.number().int().min(50).max(600_000).nullable().default(budgetMs),
    })
    .prefault({});
}

/** A redis:// or rediss:// URL without a password: passwords come from passwordEnv, never from a file. */
const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/[^\s]+$/, 'a redis:// or rediss:// URL, e.g. redis://redis.internal:6379/0')
  .refine((u) => !/^rediss?:\/\/[^/@]*:[^/@]*@/.test(u), {
    message: 'the URL carries a password: remove it and name an environment variable holding it in passwordEnv',
  });

/** Team state (docs/team.md): circuits, cooldowns, health windows, rate limits shared by every daemon. */
export const redisStateSchema = z.strictObject({
  url: redisUrl,
  /** Key prefix, so several teams (or test runs) can share one Redis. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - (at most 64)')
    .default('backstop:'),
  usernameEnv: envName.optional(),
  passwordEnv: envName.optional(),
  /** TLS beyond what rediss:// turns on: a private CA, the server name, or (tests only) no verification. */
  tls: z
    .strictObject({
      caFile: z.string().min(1).optional(),
      servername: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  /** Longest wait for one Redis call on a request's path; past it the daemon goes on with its local state. */
  timeoutMs: z.number().int().min(5).max(5000).default(150),
});

export const configSchema = z.strictObject({
  providers: z.array(providerSchema).default([]),
  chain: z.array(modelId).default([]),
  /** Named chains, usable as a model name on the gateway and in CompleteParams.chain ("chain:<name>"). */
  chains: z.record(z.string(), z.array(z.string())).default({}),
  strategy: z.enum(STRATEGIES).default('sequential'),
  timeoutMs: z.number().int().min(5000).max(120_000).default(30_000),
  /** The whole request, all attempts and waits included. */
  requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
  maxRetries: z.number().int().min(0).max(10).default(2),
  backoff: z
    .strictObject({
      baseMs: z.number().int().min(0).default(500),
      maxMs: z.number().int().min(0).default(8000),
      jitter: z.boolean().default(true),
    })
    .prefault({}),
  /** Wait for a Retry-After up to this long; beyond it fail over at once. */
  maxRetryAfterMs: z.number().int().min(0).default(5000),
  /**
   * A provider's content-policy refusal (OpenAI's `content_filter` finish reason or content-policy
   * 400, Anthropic's `refusal`, Gemini's block) goes back to the caller as an error naming the model
   * (false, the default). True: fail over to the next model instead, as for other failures.
   */
  contentPolicyFallback: z
    .boolean()
    .default(false)
    .describe(
      "On a provider's content-policy refusal: false (default) answers the caller with the refusal; true fails over to the next model.",
    ),
  circuit: z
    .strictObject({
      failureThreshold: z.number().int().min(1).default(3),
      /** First cooldown of an open circuit; doubles per failed probe up to maxCooldownMs ("Recovery"). */
      cooldownMs: z.number().int().min(100).default(2000),
      /** Longest cooldown: a model that came back carries traffic again within about this long. */
      maxCooldownMs: z.number().int().min(100).default(8000),
      failureRateThreshold: z.number().min(0).max(1).default(0.5),
      windowSize: z.number().int().min(2).default(20),
      minRequests: z.number().int().min(1).default(10),
    })
    .prefault({}),
  hedging: z
    .strictObject({
      enabled: z.boolean().default(false),
      delayMs: z.union([z.number().int().min(0), z.literal('p95')]).default('p95'),
    })
    .prefault({}),
  queue: z
    .strictObject({
      maxSize: z.number().int().min(0).default(100),
      maxWaitMs: z.number().int().min(100).default(600_000),
    })
    .prefault({}),
  firstTokenTimeoutMs: z.number().int().min(100).default(10_000),
  idleTimeoutMs: z.number().int().min(100).default(10_000),
  autoSwitch: z.boolean().default(true),
  monitorVram: z.boolean().default(true),
  /** Allow the planner to offer a clearly labelled mock answer as a last resort. */
  mockGeneration: z.boolean().default(false),
  gateway: z.strictObject({ streamFailover: z.enum(STREAM_FAILOVER_MODES).default('error') }).prefault({}),
  server: z
    .strictObject({
      /** Browser origins allowed to open the WebSocket / call HTTP (exact match). */
      allowedOrigins: z.array(z.string()).default([]),
      /**
       * Host headers accepted besides 127.0.0.1, localhost and [::1] with the bound port (a defence
       * against DNS rebinding): "name" on any port or "name:port", e.g. a reverse proxy's name.
       * Requests naming any other host get 421 Misdirected Request.
       */
      allowedHosts: z.array(z.string().min(1)).default([]),
      maxMessageBytes: z
        .number()
        .int()
        .min(1024)
        .default(8 * 1024 * 1024),
    })
    .prefault({}),
  /**
   * Per purpose (inline ghost text, the Complete command, chat through vscode.lm, gateway clients): its
   * own chain (empty: the main chain; inline falls back to inline.chain first) and a latency budget: no
   * first token within budgetMs and the next model is hedged in; a model whose recent p95 first-token
   * time exceeds the budget is tried last. null: no budget.
   */
  purposes: z
    .strictObject({
      inline: purposeSchema(DEFAULT_INLINE_BUDGET_MS),
      complete: purposeSchema(null),
      chat: purposeSchema(null),
      gateway: purposeSchema(null),
    })
    .prefault({}),
  /**
   * Prices per model, US dollars per million tokens, by model id ("openai/gpt-4o") or name ("gpt-4o"):
   * spend tracking, budgets and the cheapest strategy use them. Well-known cloud models have list prices
   * built in (README); local models cost nothing.
   */
  prices: z
    .record(
      z.string().min(1),
      z.strictObject({ inputPerMTok: z.number().min(0).max(10_000), outputPerMTok: z.number().min(0).max(10_000) }),
    )
    .default({}),
  /**
   * Spend and token budgets per provider and UTC day or month: at 80 % a warning, at 100 % the provider
   * is skipped ("budget") until the period rolls over.
   */
  budgets: z
    .array(
      z
        .strictObject({
          provider: providerId,
          period: z.enum(['day', 'month']),
          usd: z.number().min(0).optional(),
          tokens: z.number().int().min(0).optional(),
        })
        .refine((b) => b.usd !== undefined || b.tokens !== undefined, {
          message: 'a budget needs usd or tokens (or both)',
        }),
    )
    .default([]),
  privacy: z
    .strictObject({
      localOnly: z
        .boolean()
        .default(false)
        .describe(
          'Every request stays on this machine: cloud models are skipped ("privacy: local only"); ' +
            'a request no local model can answer fails instead of leaking.',
        ),
    })
    .prefault({}),
  /** Where state lives besides this daemon: absent, each daemon learns alone. */
  state: z.strictObject({ redis: redisStateSchema.optional() }).prefault({}),
  inline: z
    .strictObject({
      chain: z.array(z.string()).default([]),
      timeoutMs: z.number().int().min(200).max(30_000).default(3000),
      maxTokens: z.number().int().min(1).max(512).default(64),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type LocalProviderConfig = z.infer<typeof localProviderSchema>;
export type CloudProviderConfig = z.infer<typeof cloudProviderSchema>;
export type ProviderType = ProviderConfig['type'];
export type CloudProviderType = keyof typeof cloudProviderSchemas;
export type RedisStateConfig = z.infer<typeof redisStateSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;

/** The defaults of PROTOCOL.md. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}

export interface ConfigIssue {
  path: string;
  message: string;
}

/** Validate raw input; on failure name every offending key and why. */
export function validateConfig(input: unknown): { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] } {
  const r = configSchema.safeParse(input ?? {});
  if (r.success) {
    const ids = new Set<string>();
    for (const [i, p] of r.data.providers.entries()) {
      if (ids.has(p.id)) {
        return { ok: false, issues: [{ path: `providers.${i}.id`, message: `duplicate provider id "${p.id}"` }] };
      }
      ids.add(p.id);
    }
    return { ok: true, config: r.data };
  }
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })),
  };
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/** Deep-merge a partial config over a full one (arrays and scalars replace; objects merge). */
export function mergeConfig(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = v === undefined ? base[k] : mergeConfig(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
