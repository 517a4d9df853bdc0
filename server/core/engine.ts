// The fallback engine's public face: the one call the daemon makes, `run`; what it wires (deps,
// config, events) is declared in engineTypes.ts. The work of one request lives in requestRun.ts
// (strategies, hedging, exhaustion) and lane.ts (one model: admission, queue slot, attempts, retries).
import type { CompleteResult } from '../../protocol/types';
import type { EngineDeps, EngineRequest, RunOptions } from './engineTypes';
import { RequestRun } from './requestRun';

export type {
  Adjustments,
  EngineConfig,
  EngineDeps,
  EngineEvent,
  EngineRequest,
  PlanContext,
  ResolvedModel,
  RunOptions,
} from './engineTypes';
export { EngineError, isEngineError, EngineErrorCodes } from './engineError';

export class Engine {
  constructor(private readonly deps: EngineDeps) {}

  /**
   * Run one completion over `req.chain`. Resolves with the answer of exactly one model (never
   * partial text); rejects with an EngineError: -32001 exhausted, -32003 timeout, -32800 cancelled.
   */
  run(req: EngineRequest, opts: RunOptions): Promise<CompleteResult> {
    return new RequestRun(this.deps, req, opts).execute();
  }
}
