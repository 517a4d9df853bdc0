// Runtime validation of request params (the protocol types are compile-time only).
// A failure becomes -32602 with a message that names the field.
import { z } from 'zod';
import { ErrorCodes } from '../protocol/errors';
import { RpcError } from './rpcError';

const modelId = z.string().regex(/^[^/\s]+\/\S.*$/, 'a model id is "<providerId>/<modelName>"');
const priority = z.enum(['critical', 'high', 'normal', 'low']);
const strategy = z.enum(['sequential', 'fastest', 'load_balanced']);
const capability = z.enum(['chat', 'completion', 'code', 'fim', 'vision', 'tools', 'long_context', 'fast', 'high_quality']);
const failureKind = z.enum([
  'rate_limited', 'timeout', 'network', 'server_error', 'auth', 'bad_request', 'context_overflow', 'content_filter',
  'stream_interrupted', 'model_missing', 'model_load', 'out_of_memory', 'cancelled', 'unknown',
]);
const requirements = z.object({
  capabilities: z.array(capability).optional(),
  minContext: z.number().int().positive().optional(),
  preferSpeed: z.boolean().optional(),
  preferQuality: z.boolean().optional(),
});

export const schemas = {
  setChain: z.object({ chain: z.array(modelId), strategy: strategy.optional() }),
  setPrimary: z.object({ model: modelId }),
  setSecret: z.object({ providerId: z.string().min(1), apiKey: z.string().min(1).nullable() }),
  models: z.object({ refresh: z.boolean().optional() }).optional(),
  complete: z
    .object({
      prompt: z.string().optional(),
      messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).min(1).optional(),
      suffix: z.string().optional(),
      chain: z.array(z.string().min(1)).optional(),
      strategy: strategy.optional(),
      maxTokens: z.number().int().min(1).max(131_072).optional(),
      temperature: z.number().min(0).max(2).optional(),
      stop: z.array(z.string()).max(16).optional(),
      priority: priority.optional(),
      timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
      requirements: requirements.optional(),
      streamId: z.string().min(1).max(200).optional(),
      forceFail: z.object({ models: z.array(z.string()), kind: failureKind.optional() }).optional(),
    })
    .refine((p) => (p.prompt === undefined) !== (p.messages === undefined), { message: 'give exactly one of prompt or messages', path: ['prompt'] }),
  benchmark: z
    .object({
      models: z.array(modelId).optional(),
      maxTokens: z.number().int().min(1).max(4096).optional(),
      prompt: z.string().optional(),
      repetitions: z.number().int().min(1).max(20).optional(),
      promptTokens: z.number().int().min(1).max(8192).optional(),
    })
    .optional(),
  suggest: z.object({ model: z.string().min(1), requirements: requirements.optional() }),
  plan: z.object({
    model: z.string().min(1),
    failure: z.object({ kind: failureKind, message: z.string().optional(), retryAfterMs: z.number().min(0).optional() }),
    requirements: requirements.optional(),
  }),
  estimateWait: z.object({ model: z.string().min(1), priority: priority.optional() }),
  queueCancel: z.object({ id: z.string().min(1) }),
  monitor: z.discriminatedUnion('action', [
    z.object({ action: z.literal('start'), durationS: z.number().min(10).max(300), intervalMs: z.number().int().min(100).max(60_000).optional() }),
    z.object({ action: z.literal('stop') }),
  ]),
};

export function parseParams<T>(schema: z.ZodType<T>, params: unknown): T {
  const r = schema.safeParse(params ?? undefined);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'params';
  throw new RpcError(ErrorCodes.InvalidParams, `invalid params: ${field}: ${issue?.message ?? 'invalid'}`, { field });
}
