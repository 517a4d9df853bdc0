// Turn node-llama-cpp's GGUF file info into what Backstop shows about a model: labels,
// capabilities, and whether the file is complete. Pure functions over already-read data (they run in
// the GGUF reader process, server/native/ggufWorker.ts).
import type { GgufFileInfo, GgufTensorInfo } from 'node-llama-cpp';
import type { Capability } from '../../protocol/types';

export const LONG_CONTEXT_TOKENS = 32_768;

/** [elements per block, bytes per block] per ggml tensor type id (ggml.c `type_traits`). */
const GGML_BLOCK: Readonly<Record<number, readonly [number, number]>> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  3: [32, 20],
  6: [32, 22],
  7: [32, 24],
  8: [32, 34],
  9: [32, 36],
  10: [256, 84],
  11: [256, 110],
  12: [256, 144],
  13: [256, 176],
  14: [256, 210],
  15: [256, 292],
  16: [256, 66],
  17: [256, 74],
  18: [256, 98],
  19: [256, 50],
  20: [32, 18],
  21: [256, 110],
  22: [256, 82],
  23: [256, 136],
  24: [1, 1],
  25: [1, 2],
  26: [1, 4],
  27: [1, 8],
  28: [1, 8],
  29: [256, 56],
  30: [1, 2],
  34: [256, 54],
  35: [256, 66],
  39: [32, 17],
};

const CODE_NAME =
  /coder|starcoder|code-?llama|codegemma|codestral|codeqwen|granite-code|stable-?code|santacoder|wizardcoder|phind|devstral|deepseek-coder/i;
const CODE_ARCH = /^(starcoder2?|codeshell|refact)$/i;
/** Metadata keys llama.cpp uses for fill-in-the-middle token ids (new and legacy spellings). */
const FIM_KEYS = [
  'fim_pre_token_id',
  'fim_suf_token_id',
  'fim_mid_token_id',
  'prefix_token_id',
  'suffix_token_id',
  'middle_token_id',
];
const FIM_TOKENS = new Set([
  '<|fim_prefix|>',
  '<fim_prefix>',
  '<fim-prefix>',
  '<PRE>',
  '<｜fim▁begin｜>',
  '<|fim▁begin|>',
  '<|fim_begin|>',
]);

/** Read a dotted path ("tokenizer.ggml.tokens") from the nested metadata without trusting its typings. */
export function metaValue(info: Pick<GgufFileInfo, 'metadata'>, path: string): unknown {
  let node: unknown = info.metadata;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function metaString(info: Pick<GgufFileInfo, 'metadata'>, path: string): string | undefined {
  const v = metaValue(info, path);
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function metaNumber(info: Pick<GgufFileInfo, 'metadata'>, path: string): number | undefined {
  const v = metaValue(info, path);
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function tensorsOf(info: Pick<GgufFileInfo, 'tensorInfo' | 'fullTensorInfo'>): readonly GgufTensorInfo[] {
  return info.fullTensorInfo ?? info.tensorInfo ?? [];
}

function elementCount(t: GgufTensorInfo): number {
  return t.dimensions.reduce<number>((n, d) => n * Number(d), 1);
}

export function parameterCount(info: Pick<GgufFileInfo, 'tensorInfo' | 'fullTensorInfo'>): number {
  return tensorsOf(info).reduce((n, t) => n + elementCount(t), 0);
}

/** "103M", "2.8M", "7.2B": one decimal below 10 units, like Hugging Face size labels. */
export function formatParameterCount(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, suffix] of units) {
    if (n >= scale) {
      const v = n / scale;
      return `${v < 10 ? Number(v.toFixed(1)) : Math.round(v)}${suffix}`;
    }
  }
  return String(n);
}

/** "Q4_K_M", "F16": the file type name without llama.cpp's MOSTLY_/ALL_ prefix. */
export function quantizationLabel(fileTypeName: string | undefined): string | undefined {
  return fileTypeName?.replace(/^(MOSTLY|ALL)_/, '');
}

/**
 * Where the tensor data of this file ends, from the tensor offsets and sizes. Only tensors in the
 * first part are counted (split files list the others' tensors too). Unknown tensor types count
 * from their offset only, so the check errs towards "complete".
 */
export function tensorDataEnd(info: Pick<GgufFileInfo, 'tensorInfo' | 'fullTensorInfo' | 'infoEndOffset'>): number {
  let end = info.infoEndOffset ?? 0;
  for (const t of tensorsOf(info)) {
    if (t.filePart !== undefined && t.filePart !== 1) continue;
    const block = GGML_BLOCK[t.ggmlType];
    const bytes = block ? Math.ceil(elementCount(t) / block[0]) * block[1] : 0;
    end = Math.max(end, Number(t.fileOffset) + bytes);
  }
  return end;
}

/** Why the file cannot be loaded although its header parsed, or undefined if it looks whole. */
export function truncationReason(
  info: Pick<GgufFileInfo, 'tensorInfo' | 'fullTensorInfo' | 'infoEndOffset'>,
  fileSize: number,
): string | undefined {
  const end = tensorDataEnd(info);
  if (end <= fileSize) return undefined;
  return `truncated: tensor data ends at ${end} but file is ${fileSize} bytes (an interrupted download or copy; download the file again)`;
}

export function hasFimTokens(info: Pick<GgufFileInfo, 'metadata'>): boolean {
  if (FIM_KEYS.some((k) => metaValue(info, `tokenizer.ggml.${k}`) !== undefined)) return true;
  const tokens = metaValue(info, 'tokenizer.ggml.tokens');
  return Array.isArray(tokens) && tokens.some((t) => typeof t === 'string' && FIM_TOKENS.has(t));
}

export function hasChatTemplate(info: Pick<GgufFileInfo, 'metadata'>): boolean {
  return metaString(info, 'tokenizer.chat_template') !== undefined;
}

export interface GgufSummary {
  architecture?: string;
  contextLength?: number;
  layers?: number;
  parameterCount: number;
  parameters?: string;
  hasChatTemplate: boolean;
  capabilities: Capability[];
  sourceUrl?: string;
}

/** Everything Backstop shows about a readable GGUF file, except its quantization (needs the enum). */
export function summarizeGguf(
  info: Pick<GgufFileInfo, 'metadata' | 'tensorInfo' | 'fullTensorInfo'>,
  fileName: string,
  filePath: string,
): GgufSummary {
  const architecture = metaString(info, 'general.architecture');
  const contextLength = architecture ? metaNumber(info, `${architecture}.context_length`) : undefined;
  const layers = architecture ? metaNumber(info, `${architecture}.block_count`) : undefined;
  const count = parameterCount(info);
  const label = metaString(info, 'general.size_label') ?? (count > 0 ? formatParameterCount(count) : undefined);
  const chat = hasChatTemplate(info);
  const names = `${fileName} ${metaString(info, 'general.name') ?? ''} ${metaString(info, 'general.basename') ?? ''}`;
  const capabilities: Capability[] = [];
  // Function calling through node-llama-cpp's chat wrappers needs a chat template (the wrapper
  // documents the functions in the system prompt and parses the calls; "required" is grammar-forced).
  if (chat) capabilities.push('chat', 'tools');
  capabilities.push('completion');
  // Structured output through a llama.cpp JSON grammar works on every model.
  capabilities.push('json');
  if (CODE_NAME.test(names) || (architecture !== undefined && CODE_ARCH.test(architecture))) capabilities.push('code');
  if (hasFimTokens(info)) capabilities.push('fim');
  if (contextLength !== undefined && contextLength >= LONG_CONTEXT_TOKENS) capabilities.push('long_context');
  const sourceUrl =
    huggingFaceUrl(filePath) ?? metaString(info, 'general.source.url') ?? metaString(info, 'general.url');
  return {
    ...(architecture !== undefined ? { architecture } : {}),
    ...(contextLength !== undefined ? { contextLength } : {}),
    ...(layers !== undefined ? { layers } : {}),
    parameterCount: count,
    ...(label !== undefined ? { parameters: label } : {}),
    hasChatTemplate: chat,
    capabilities,
    ...(sourceUrl !== undefined ? { sourceUrl } : {}),
  };
}

/** The Hugging Face cache keeps `models--org--name/snapshots/<rev>/file.gguf`: that names the repo. */
export function huggingFaceUrl(filePath: string): string | undefined {
  const m = /[\\/]models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/]/.exec(filePath);
  return m ? `https://huggingface.co/${m[1]}/${m[2]}` : undefined;
}

/** What the scan says about one file: usable or not (with the reason), and what is known of it. */
export interface GgufDescription {
  ok: boolean;
  /** Why the file cannot be used (ok: false), written for the user. */
  reason?: string;
  architecture?: string;
  /** Size label, e.g. "103M", "7B". */
  parameters?: string;
  parameterCount?: number;
  /** From general.file_type, e.g. "F16", "Q4_K_M". */
  quantization?: string;
  contextLength?: number;
  layers?: number;
  hasChatTemplate: boolean;
  capabilities: Capability[];
  sourceUrl?: string;
}

/** node-llama-cpp's enum tables (number → name), passed in so this module stays free of the native package. */
export interface GgufTypeNames {
  fileType: Readonly<Record<number, string | undefined>>;
  ggmlType: Readonly<Record<number, string | undefined>>;
}

export function incompatibleGguf(reason: string): GgufDescription {
  return { ok: false, reason, hasChatTemplate: false, capabilities: [] };
}

/** Everything the scan reports about a file whose header node-llama-cpp has read. */
export function describeGgufInfo(
  info: Pick<GgufFileInfo, 'metadata' | 'tensorInfo' | 'fullTensorInfo' | 'infoEndOffset'>,
  file: { path: string; sizeBytes: number; baseName: string },
  names: GgufTypeNames,
): GgufDescription {
  const truncated = truncationReason(info, file.sizeBytes);
  if (truncated) return incompatibleGguf(truncated);
  const summary = summarizeGguf(info, file.baseName, file.path);
  const quantization = quantizationOf(info, names);
  const base: GgufDescription = {
    ok: true,
    ...(summary.architecture !== undefined ? { architecture: summary.architecture } : {}),
    ...(summary.parameters !== undefined ? { parameters: summary.parameters } : {}),
    ...(summary.parameterCount > 0 ? { parameterCount: summary.parameterCount } : {}),
    ...(quantization !== undefined ? { quantization } : {}),
    ...(summary.contextLength !== undefined ? { contextLength: summary.contextLength } : {}),
    ...(summary.layers !== undefined ? { layers: summary.layers } : {}),
    hasChatTemplate: summary.hasChatTemplate,
    capabilities: summary.capabilities,
    ...(summary.sourceUrl !== undefined ? { sourceUrl: summary.sourceUrl } : {}),
  };
  if (summary.architecture === undefined)
    return { ...base, ok: false, reason: 'GGUF file without general.architecture: not a model llama.cpp can load' };
  if (summary.architecture === 'clip') {
    return {
      ...base,
      ok: false,
      capabilities: [],
      reason: 'a vision projector (mmproj / clip), used alongside a model, not a model on its own',
    };
  }
  return base;
}

/** "Q4_K_M" from general.file_type; old converters omit it: then the most common tensor type. */
export function quantizationOf(
  info: Pick<GgufFileInfo, 'metadata' | 'tensorInfo'>,
  names: GgufTypeNames,
): string | undefined {
  const fileType = metaValue(info, 'general.file_type');
  if (typeof fileType === 'number') return quantizationLabel(names.fileType[fileType]) ?? `file type ${fileType}`;
  const counts = new Map<number, number>();
  for (const t of info.tensorInfo ?? []) counts.set(t.ggmlType, (counts.get(t.ggmlType) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return top ? names.ggmlType[top[0]] : undefined;
}

/** node-llama-cpp's reader failed on a file: why, for the user. */
export function readFailureReason(e: unknown): string {
  const name = typeof e === 'object' && e !== null ? e.constructor.name : '';
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  if (name === 'InvalidGgufMagicError' || /gguf magic/i.test(msg)) return 'not a GGUF file (bad magic)';
  if (code === 'ENOENT') return 'the file disappeared while it was being read';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied: Backstop cannot read this file';
  if (/version/i.test(msg)) return `unsupported GGUF version: ${msg}`;
  if (/out of range|outside|beyond|end of/i.test(msg) || e instanceof RangeError) {
    return `truncated or corrupt GGUF header (${msg}); download the file again`;
  }
  return `unreadable GGUF metadata: ${msg}`;
}
