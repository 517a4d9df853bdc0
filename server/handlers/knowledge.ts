// What the daemon knows: models, system, health, statistics, the queue, and decisions (suggestions,
// plans, wait estimates). Each handler maps validated params to one service call.
import { ErrorCodes } from '../../protocol/errors';
import { scoreCandidates, SUGGESTION_TTL_MS, SuggestionCache } from '../core/scoring';
import type { Handlers } from '../rpc/handlerTable';
import { RpcError } from '../rpc/rpcError';
import type { Services } from '../app/services';

type KnowledgeHandlers = Pick<
  Handlers,
  | 'models'
  | 'discover'
  | 'system'
  | 'health'
  | 'stats'
  | 'usage'
  | 'suggest'
  | 'plan'
  | 'estimateWait'
  | 'queue'
  | 'queueCancel'
  | 'fallbacks'
  | 'events'
  | 'countTokens'
>;

export function knowledgeHandlers(s: Services): KnowledgeHandlers {
  // Scores weigh live health: a cached answer lives only briefly (and drops when the models change).
  const suggestions = new SuggestionCache({ clock: s.clock, ttlMs: SUGGESTION_TTL_MS });
  s.onModelsChanged(() => suggestions.invalidate());

  return {
    stats: () => s.statsSnapshot(),
    usage: () => s.usageReport(),
    health: () => s.healthReport(),
    system: () => s.systemSnapshot(),
    queue: () => ({ items: s.queue.items() }),
    fallbacks: (p) => ({ fallbacks: s.recentFallbacks(p?.limit) }),
    events: (p) => ({ events: s.events.recent(p?.limit) }),
    queueCancel: (p) => ({ cancelled: s.queue.cancel(p.id) }),
    models: async (p) => {
      if (p?.refresh) await Promise.all([s.catalog.rescan(), s.catalog.cloud.refresh(true)]);
      return { models: s.models() };
    },
    discover: async () => {
      const t0 = s.clock.now();
      const before = new Set(s.models().map((m) => m.id));
      await Promise.all([s.catalog.rescan(), s.catalog.cloud.refresh(true)]);
      const models = s.models();
      const after = new Set(models.map((m) => m.id));
      return {
        models,
        added: [...after].filter((i) => !before.has(i)),
        removed: [...before].filter((i) => !after.has(i)),
        durationMs: s.clock.now() - t0,
      };
    },
    suggest: (p) => {
      const models = s.models();
      const requested = models.find((m) => m.id === p.model) ?? { id: p.model };
      const others = models.filter((m) => m.id !== p.model);
      const list = suggestions.get(p.model, p.requirements, () =>
        scoreCandidates(requested, others, p.requirements ?? {}, {
          now: s.clock.now(),
          waitMs: (m) => s.queue.estimateNew(m)?.totalMs,
        }),
      );
      return { suggestions: list };
    },
    plan: (p) =>
      s.planFor(
        {
          model: p.model,
          failure: p.failure.kind,
          ...(p.failure.message ? { message: p.failure.message } : {}),
          ...(p.failure.retryAfterMs !== undefined ? { retryAfterMs: p.failure.retryAfterMs } : {}),
          ...(p.requirements ? { requirements: p.requirements } : {}),
        },
        false,
      ),
    countTokens: (p, token) => s.countTokens(p.model, p.texts, token),
    estimateWait: (p) => {
      const est = s.queue.estimateNew(p.model, p.priority ?? 'normal', p.maxTokens);
      if (!est) throw new RpcError(ErrorCodes.UnknownModel, `no estimate for "${p.model}": it is not a known model`);
      return est;
    },
  };
}
