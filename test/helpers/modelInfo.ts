// A ModelInfo for the scoring and planning tests: ready, chat + code, healthy unless told otherwise.
import type { ModelHealth, ModelInfo } from '../../protocol/types';

export function modelInfo(id: string, over: Partial<ModelInfo> = {}, health: Partial<ModelHealth> = {}): ModelInfo {
  return {
    id,
    provider: id.split('/')[0] ?? id,
    name: id.split('/')[1] ?? id,
    kind: id.startsWith('local/') ? 'local' : 'cloud',
    availability: 'ready',
    capabilities: ['chat', 'code'],
    health: {
      state: 'healthy',
      successCount: 0,
      failureCount: 0,
      consecutiveFailures: 0,
      successRate: 1,
      avgLatencyMs: null,
      ...health,
    },
    ...over,
  };
}
