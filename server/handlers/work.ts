// Work that runs for a while: completions, benchmarks, monitoring sessions, downloads. Each handler
// maps validated params to a use case; stream deltas and progress go to the calling peer only.
import { methods } from '../../protocol/index';
import type { Handlers } from '../rpc/handlerTable';
import type { UseCases } from '../usecases';
import type { CompletionHooks } from '../usecases/completions';

type WorkHandlers = Pick<Handlers, 'complete' | 'benchmark' | 'monitor' | 'download'>;

export function workHandlers(uc: UseCases): WorkHandlers {
  return {
    complete: (p, ctx) => {
      const streamId = p.streamId;
      const hooks: CompletionHooks = streamId
        ? {
            onDelta: (delta, model) => ctx.peer.notify(methods.stream, { streamId, delta, model }),
            onToolCallDelta: (toolCall, model) =>
              ctx.peer.notify(methods.stream, { streamId, delta: '', model, toolCall }),
            onReset: (model) => ctx.peer.notify(methods.stream, { streamId, delta: '', model, reset: true }),
            onMockAnswer: (text, model) => {
              ctx.peer.notify(methods.stream, { streamId, delta: '', model, reset: true });
              ctx.peer.notify(methods.stream, { streamId, delta: text, model });
            },
          }
        : {};
      return uc.completions.complete(p, ctx.signal, hooks);
    },
    benchmark: async (p, ctx) => ({
      results: await uc.benchmarks.run(p ?? {}, {
        signal: ctx.signal,
        onProgress: (model, done, total) => ctx.peer.notify(methods.benchmarkProgress, { model, done, total }),
      }),
    }),
    monitor: (p) =>
      p.action === 'stop'
        ? uc.monitor.stop()
        : p.action === 'get'
          ? uc.monitor.get()
          : uc.monitor.start(p.durationS, p.intervalMs),
    download: (p, ctx) => uc.downloads.download(p.model, ctx.signal),
  };
}
