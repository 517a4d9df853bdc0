// The one protocol module: import everything from here.
export * from './types';
export * from './config';
export * from './errors';
export * as methods from './methods';
export type {
  BenchmarkParams, BenchmarkProgress, DownloadParams, DownloadProgress, DownloadResult, ChainResult, DiscoverResult, EstimateWaitParams, FallbackEvent, LogMessage,
  ModelsParams, MonitorParams, MonitorResult, PlanParams, QueueCancelParams, SetChainParams, SetPrimaryParams,
  SetSecretParams, StreamDelta, SuggestParams,
} from './methods';
