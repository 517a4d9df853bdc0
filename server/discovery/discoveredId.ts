// Ids for models found by discovery (GGUF file names, provider listings, configured names): a
// name that cannot make a valid model id is skipped with a reason instead of failing discovery.
import { formatModelId, type ModelId } from '../../protocol/modelId';

/** `<provider>/<name>`, or undefined after telling `skip` why the name cannot be a model id. */
export function discoveredModelId(provider: string, name: string, skip: (why: string) => void): ModelId | undefined {
  try {
    return formatModelId(provider, name);
  } catch (e) {
    const problem = e instanceof Error ? e.message : String(e);
    skip(`skipping model ${JSON.stringify(name)} of provider "${provider}": ${problem}`);
    return undefined;
  }
}
