// Model ids are "<providerId>/<modelName>". This is the only place that splits, joins or checks
// them; everything else calls these functions. No runtime dependencies (the client imports it).

/** A string that passed `checkModelId`. */
export type ModelId = string & { readonly __brand: 'ModelId' };

export interface ParsedModelId {
  readonly provider: string;
  readonly name: string;
}

/** A provider id: the part before "/" in model ids, as written in the configuration. */
export const PROVIDER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const PROVIDER_ID_HINT = 'a provider id is letters, digits, ".", "_" or "-", and contains no "/"';
export const MODEL_ID_HINT = 'a model id is "<providerId>/<modelName>"';
/** Entries of a chain that name a configured chain instead of a model. */
export const NAMED_CHAIN_PREFIX = 'chain:';

const MAX_MODEL_ID_LENGTH = 512;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DOT_SEGMENT = /(^|\/)\.{1,2}(\/|$)/;

/** Why `id` is not a valid model id, or undefined when it is. */
export function modelIdProblem(id: string): string | undefined {
  if (id.length > MAX_MODEL_ID_LENGTH) return `a model id has at most ${MAX_MODEL_ID_LENGTH} characters`;
  if (CONTROL.test(id)) return 'a model id contains no control characters';
  const slash = id.indexOf('/');
  if (slash < 0) return `${MODEL_ID_HINT} (no "/" found)`;
  const provider = id.slice(0, slash);
  const name = id.slice(slash + 1);
  if (!provider) return `${MODEL_ID_HINT} (the provider id is empty)`;
  if (!PROVIDER_ID_PATTERN.test(provider)) return `${MODEL_ID_HINT}: ${PROVIDER_ID_HINT}`;
  if (!name.trim()) return `${MODEL_ID_HINT} (the model name is empty)`;
  if (name !== name.trim()) return 'a model name does not start or end with spaces';
  if (DOT_SEGMENT.test(name)) return 'a model name has no "." or ".." path segments';
  return undefined;
}

export function isModelId(id: unknown): id is ModelId {
  return typeof id === 'string' && modelIdProblem(id) === undefined;
}

/** Split a model id at its first "/" (names may contain more, e.g. "hf/org/model"); undefined if invalid. */
export function parseModelId(id: string): ParsedModelId | undefined {
  if (modelIdProblem(id) !== undefined) return undefined;
  const slash = id.indexOf('/');
  return { provider: id.slice(0, slash), name: id.slice(slash + 1) };
}

/**
 * Split without validating: for ids that were validated on entry (config, params) and for display.
 * A string without "/" is all provider.
 */
export function splitModelId(id: string): ParsedModelId {
  const slash = id.indexOf('/');
  return slash < 0 ? { provider: id, name: '' } : { provider: id.slice(0, slash), name: id.slice(slash + 1) };
}

export function providerOf(id: string): string {
  return splitModelId(id).provider;
}

export function modelNameOf(id: string): string {
  return splitModelId(id).name;
}

/** Join a provider id and a model name; throws when the result is not a valid id (a programming error). */
export function formatModelId(provider: string, name: string): ModelId {
  const id = `${provider}/${name}`;
  const problem = modelIdProblem(id);
  if (problem !== undefined) throw new Error(`invalid model id ${JSON.stringify(id)}: ${problem}`);
  return id as ModelId;
}

/** "chain:<name>" → "<name>"; undefined for a model id. */
export function namedChainOf(entry: string): string | undefined {
  return entry.startsWith(NAMED_CHAIN_PREFIX) ? entry.slice(NAMED_CHAIN_PREFIX.length) : undefined;
}
