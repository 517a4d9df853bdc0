// The local-only privacy guard: a request marked localOnly (RPC param, gateway header, or the
// daemon-wide privacy.localOnly) never reaches a cloud model. The engine skips every cloud model
// with PRIVACY_SKIP before any byte is sent; when no local model can answer, the caller gets an
// error that says so instead of an answer that leaked.
import { ErrorCodes } from '../../protocol/errors';
import type { Attempt } from '../../protocol/types';
import { EngineError } from './engineError';
import type { EngineRequest, ResolvedModel } from './engineTypes';

/** The reason a cloud model is skipped under the guard (attempts, traces, errors). */
export const PRIVACY_SKIP = 'privacy: local only';

/** Where the guard can be turned off, for the error text. */
const GUARD_SOURCES =
  'params.localOnly, the x-backstop-local-only header, privacy.localOnly, or the VS Code settings ' +
  'backstop.privacy.localOnly / backstop.privacy.localOnlyFiles';

/** True when the guard forbids sending this request to this model. */
export function privacyForbids(req: Pick<EngineRequest, 'localOnly'>, model: Pick<ResolvedModel, 'kind'>): boolean {
  return req.localOnly === true && model.kind !== 'local';
}

export function isPrivacySkip(a: Attempt): boolean {
  return a.outcome === 'skipped' && a.message === PRIVACY_SKIP;
}

/**
 * The guard's own error when the chain could not answer locally: Unsupported when no local model
 * was even tried (the chain has none that could serve), Exhausted when local models tried and failed.
 * Undefined when the guard skipped nothing (the ordinary errors apply).
 */
export function privacyError(req: Pick<EngineRequest, 'localOnly'>, attempts: Attempt[]): EngineError | undefined {
  if (req.localOnly !== true) return undefined;
  const skipped = [...new Set(attempts.filter(isPrivacySkip).map((a) => a.model))];
  if (skipped.length === 0) return undefined;
  const local = attempts.filter((a) => !isPrivacySkip(a));
  const localModels = [...new Set(local.map((a) => a.model))];
  const tried = local.some((a) => a.outcome !== 'skipped');
  const cloud = `${skipped.join(', ')} ${skipped.length === 1 ? 'is a cloud model' : 'are cloud models'}`;
  const why = localModels.length
    ? ` The local model(s) could not answer: ${local.map((a) => `${a.model} — ${a.failure ?? a.outcome}: ${a.message ?? ''}`.trim()).join('; ')}.`
    : ' The chain has no local model.';
  const message =
    `${PRIVACY_SKIP}: this request may not leave the machine, and no local model could answer it ` +
    `(${cloud}, skipped).${why} Add a local model to the chain, or turn the guard off (${GUARD_SOURCES}).`;
  return new EngineError(tried ? ErrorCodes.Exhausted : ErrorCodes.Unsupported, message, { attempts: [...attempts] });
}
