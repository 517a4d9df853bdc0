// Labels, capabilities and truncation from GGUF metadata (synthetic file info, no files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GgufFileInfo, GgufTensorInfo } from 'node-llama-cpp';
import {
  formatParameterCount,
  quantizationLabel,
  summarizeGguf,
  tensorDataEnd,
  truncationReason,
  huggingFaceUrl,
  hasFimTokens,
} from '../../server/discovery/ggufMeta';
import { isGgufFileName } from '../../server/discovery/findGguf';

type Info = Pick<GgufFileInfo, 'metadata' | 'tensorInfo' | 'fullTensorInfo' | 'infoEndOffset'>;

function tensor(name: string, dims: number[], ggmlType: number, fileOffset: number, filePart = 1): GgufTensorInfo {
  return { name, dimensions: dims, ggmlType, offset: fileOffset - 1000, fileOffset, filePart } as GgufTensorInfo;
}

function info(metadata: Record<string, unknown>, tensors: GgufTensorInfo[] = [], infoEndOffset = 1000): Info {
  return { metadata: metadata as unknown as GgufFileInfo['metadata'], tensorInfo: tensors, infoEndOffset };
}

test('parameter labels read like Hugging Face size labels', () => {
  assert.equal(formatParameterCount(103_284_736), '103M');
  assert.equal(formatParameterCount(2_756_864), '2.8M');
  assert.equal(formatParameterCount(7_241_732_096), '7.2B');
  assert.equal(formatParameterCount(70_553_706_496), '71B');
  assert.equal(formatParameterCount(115_520), '116K');
  assert.equal(formatParameterCount(1_000_000), '1M');
  assert.equal(formatParameterCount(512), '512');
});

test('quantization drops llama.cpp prefixes', () => {
  assert.equal(quantizationLabel('MOSTLY_Q4_K_M'), 'Q4_K_M');
  assert.equal(quantizationLabel('ALL_F32'), 'F32');
  assert.equal(quantizationLabel('MOSTLY_F16'), 'F16');
  assert.equal(quantizationLabel(undefined), undefined);
});

test('tensor data end uses block sizes per ggml type; only part 1 counts', () => {
  const tensors = [
    tensor('a', [64, 10], 0, 1024), // f32: 2560 bytes → 3584
    tensor('b', [256, 4], 12, 4096), // Q4_K: 4 blocks × 144 = 576 → 4672
    tensor('c', [4096, 4096], 12, 999_999_999, 2), // another part: ignored
  ];
  const i = info({}, tensors);
  assert.equal(tensorDataEnd(i), 4672);
  assert.equal(truncationReason(i, 4672), undefined);
  assert.equal(
    truncationReason(i, 4671),
    'truncated: tensor data ends at 4672 but file is 4671 bytes (an interrupted download or copy; download the file again)',
  );
  // Unknown tensor type: only its offset is known, so it cannot make a whole file look truncated.
  assert.equal(tensorDataEnd(info({}, [tensor('x', [10], 999, 5000)])), 5000);
  // No tensors: the header end still has to be inside the file.
  assert.equal(truncationReason(info({}, [], 2048), 1000)?.startsWith('truncated: tensor data ends at 2048'), true);
});

test('capabilities: chat template, code names and architectures, FIM tokens, long context', () => {
  const llama = (extra: Record<string, unknown>, tokenizer: Record<string, unknown> = {}) =>
    info({
      general: { architecture: 'llama', name: 'Plain', ...extra },
      llama: { context_length: 4096, block_count: 2 },
      tokenizer: { ggml: { tokens: ['a'], ...tokenizer } },
    });

  const plain = summarizeGguf(llama({}), 'plain-7b', '/m/plain-7b.gguf');
  assert.deepEqual(plain.capabilities, ['completion', 'json']);
  assert.equal(plain.contextLength, 4096);
  assert.equal(plain.layers, 2);
  assert.equal(plain.architecture, 'llama');

  const chat = summarizeGguf(
    info({
      general: { architecture: 'qwen2' },
      qwen2: { context_length: 32768 },
      tokenizer: { chat_template: '{% for m in messages %}{{m}}{% endfor %}', ggml: {} },
    }),
    'qwen2.5-coder-7b-instruct-q4_k_m',
    '/m/x.gguf',
  );
  assert.deepEqual(chat.capabilities, ['chat', 'tools', 'completion', 'json', 'code', 'long_context']);
  assert.equal(chat.hasChatTemplate, true);

  const star = summarizeGguf(
    info({
      general: { architecture: 'starcoder2' },
      tokenizer: { ggml: { tokens: ['<fim_prefix>', '<fim_middle>'] } },
    }),
    'sc2-3b',
    '/m/x.gguf',
  );
  assert.deepEqual(star.capabilities, ['completion', 'json', 'code', 'fim']);

  assert.equal(hasFimTokens(llama({}, { fim_pre_token_id: 3 })), true);
  assert.equal(hasFimTokens(llama({}, { tokens: ['<|fim_prefix|>'] })), true);
  assert.equal(hasFimTokens(llama({}, { tokens: ['fim_prefix'] })), false);
  assert.deepEqual(summarizeGguf(llama({ name: 'DeepSeek-Coder-V2-Lite' }), 'dsc', '/m/x.gguf').capabilities, [
    'completion',
    'json',
    'code',
  ]);
});

test('size label from metadata wins over the tensor count; source URL from the HF cache path', () => {
  const s = summarizeGguf(
    info({ general: { architecture: 'llama', size_label: '8x7B', source: { url: 'https://example.com/m' } } }, [
      tensor('t', [10, 10], 0, 1000),
    ]),
    'm',
    '/x/m.gguf',
  );
  assert.equal(s.parameters, '8x7B');
  assert.equal(s.parameterCount, 100);
  assert.equal(s.sourceUrl, 'https://example.com/m');
  assert.equal(
    huggingFaceUrl('/home/u/.cache/huggingface/hub/models--Qwen--Qwen2.5-7B-GGUF/snapshots/abc/q.gguf'),
    'https://huggingface.co/Qwen/Qwen2.5-7B-GGUF',
  );
  assert.equal(huggingFaceUrl('/home/u/models/q.gguf'), undefined);
});

test('split files: only part 1 is a model', () => {
  assert.equal(isGgufFileName('big-00001-of-00003.gguf'), true);
  assert.equal(isGgufFileName('big-00002-of-00003.gguf'), false);
  assert.equal(isGgufFileName('Model.GGUF'), true);
  assert.equal(isGgufFileName('model.bin'), false);
});
