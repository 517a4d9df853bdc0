// The direct arm of the local tokens/s comparison (bench/local.ts): node-llama-cpp in its own process,
// loaded as Backstop's local worker loads it (CPU, the same threads and context size, build 'never'),
// generating with LlamaCompletion at temperature 0. Reads one "run" line per generation from stdin and
// prints one JSON line per run: the tokens and when the first and the last arrived.
// usage: tsx bench/localDirect.ts '<json: { modelPath, threads, contextSize, maxTokens, prompt }>'
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

interface Options {
  modelPath: string;
  threads: number;
  contextSize: number;
  maxTokens: number;
  prompt: string;
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as Options;
  const nlc = await import('node-llama-cpp');
  const llama = await nlc.getLlama({
    gpu: false,
    maxThreads: o.threads,
    build: 'never',
    logLevel: nlc.LlamaLogLevel.warn,
  });
  const model = await llama.loadModel({ modelPath: o.modelPath });
  const ctx = await model.createContext({ contextSize: o.contextSize, threads: o.threads, sequences: 1 });
  const seq = ctx.getSequence();
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() !== 'run') continue;
    await seq.clearHistory();
    const completion = new nlc.LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
    const t0 = performance.now();
    let first: number | undefined;
    let last = t0;
    let tokens = 0;
    await completion.generateCompletion(o.prompt, {
      maxTokens: o.maxTokens,
      temperature: 0,
      onToken: (t) => {
        const now = performance.now();
        first ??= now;
        last = now;
        tokens += t.length;
      },
    });
    completion.dispose({ disposeSequence: false });
    process.stdout.write(`${JSON.stringify({ tokens, firstMs: (first ?? t0) - t0, lastMs: last - t0 })}\n`);
  }
  await ctx.dispose();
  await model.dispose();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
