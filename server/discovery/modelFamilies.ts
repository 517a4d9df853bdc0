// What well-known cloud model families can do, by name, for when a provider's listing does not say.
// A name no row matches gets the optimistic default: modern chat models take tools, images and JSON
// mode, and a model that refuses one answers 400, which fails over without holding it against the model.
import type { Capability } from '../../protocol/enums';

const ALL: readonly Capability[] = ['chat', 'completion', 'tools', 'vision', 'json'];
const NO_VISION: readonly Capability[] = ['chat', 'completion', 'tools', 'json'];
const TEXT_ONLY: readonly Capability[] = ['chat', 'completion'];

/** First match wins; names are matched lower-cased, without an "org/" prefix. */
const FAMILIES: readonly [RegExp, readonly Capability[]][] = [
  [/embed|embedding|whisper|tts|dall-e|moderation|rerank/, []],
  [/gpt-3\.5-turbo-instruct|davinci|babbage/, ['completion']],
  [/^o1-(mini|preview)/, TEXT_ONLY],
  [/^(gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-5|o1|o3|o4|chatgpt-4o)/, ALL],
  [/^gpt-3\.5-turbo|^gpt-4(-\d|$)/, NO_VISION],
  [/^claude-(3|sonnet|opus|haiku|4)/, ['chat', 'completion', 'tools', 'vision']],
  [/^claude-(2|instant)/, TEXT_ONLY],
  [/^gemini-(1\.5|2|2\.5|3)|^gemini-exp/, ALL],
  [/^gemini-1\.0|^gemini-pro$/, ['chat', 'completion', 'tools', 'json']],
  [/deepseek-(reasoner|r1)/, ['chat', 'completion', 'json']],
  [/deepseek/, NO_VISION],
  [/llava|bakllava|vision|-vl\b|qwen2?\.?5?-vl|pixtral|llama-?3\.2-?(11|90)b|gemma-?3/, ALL],
  [/llama-?3\.[1-3]|qwen-?2\.5|qwen-?3|mistral|mixtral|command-r|hermes|firefunction|granite/, NO_VISION],
  [/llama-?2|llama-?3(?!\.)|phi-?[23]|gemma|codellama|starcoder|tinyllama/, ['chat', 'completion', 'json']],
];

/** Capabilities of a cloud model by its name; the optimistic default for a name no family matches. */
export function familyCapabilities(name: string): Capability[] {
  const n = name.toLowerCase().replace(/^.*\//, '');
  for (const [re, caps] of FAMILIES) if (re.test(n)) return [...caps];
  return [...ALL];
}
