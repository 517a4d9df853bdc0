// The use cases the front ends call (handlers, the gateway, next the vscode.lm provider), built once
// over the composition root's services.
import type { Services } from '../app/services';
import { BenchmarkService } from './benchmarks';
import { CompletionService } from './completions';
import { DownloadService } from './downloads';
import { MonitorService } from './monitor';

export interface UseCases {
  readonly completions: CompletionService;
  readonly benchmarks: BenchmarkService;
  readonly monitor: MonitorService;
  readonly downloads: DownloadService;
}

export function createUseCases(s: Services): UseCases {
  return {
    completions: new CompletionService(s),
    benchmarks: new BenchmarkService(s),
    monitor: new MonitorService(s, s.clock),
    downloads: new DownloadService(s),
  };
}
