// Child-process helper for fit.test.ts: how much RSS does loading a model with a context really add?
// usage: node --import tsx test/helpers/measureLoadRss.ts <model.gguf> <contextSize> [threads]
// Prints one JSON line: { baselineRss, loadedRss, afterEvalRss, peakRss } in bytes.
// Run alone in its own process so nothing else in the test runner moves the numbers.
import * as fs from 'node:fs';
import { getSharedLlama, loadLlamaModule, disposeSharedLlama } from '../../server/native/llama';

function peakRssBytes(): number | undefined {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] ? Number(m[1]) * 1024 : undefined;
}

async function main(): Promise<void> {
  const [modelPath, ctxArg, threadsArg] = process.argv.slice(2);
  if (!modelPath || !ctxArg) throw new Error('usage: measureLoadRss.ts <model.gguf> <contextSize> [threads]');
  const contextSize = Number(ctxArg);
  const threads = Number(threadsArg ?? 2);
  const mod = await loadLlamaModule();
  const llama = await getSharedLlama({ gpu: false, maxThreads: threads });
  // Baseline after the backend is up: the estimate covers the model and its context, not llama.cpp itself.
  global.gc?.();
  const baselineRss = process.memoryUsage().rss;
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize, threads });
  const loadedRss = process.memoryUsage().rss;
  // Evaluate a little so mmap'd weights are actually paged in, as they are while serving.
  const completion = new mod.LlamaCompletion({ contextSequence: context.getSequence() });
  await completion.generateCompletion('Hello there', { maxTokens: 4, temperature: 0 });
  const afterEvalRss = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ baselineRss, loadedRss, afterEvalRss, peakRss: peakRssBytes() })}\n`);
  completion.dispose();
  await context.dispose();
  await model.dispose();
  await disposeSharedLlama();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
