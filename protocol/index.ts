// The daemon's and the tests' door to the protocol: everything, schemas included. The thin client and
// the webview import `types`, `methods`, `errors`, `enums` and `modelId` directly instead, so that no
// schema runtime reaches their bundles (the lint gate enforces it).
export * from './types';
export * from './config';
export * from './errors';
export * from './modelId';
export * as methods from './methods';
export * as schemas from './schemas';
export { notifications, requests } from './contract';
export type { NotificationName, NotificationParamsOf, ParamsIn, ParamsOf, RequestName, ResultOf } from './contract';
export type {
  BenchmarkParams,
  DownloadParams,
  EstimateWaitParams,
  PlanParams,
  QueueCancelParams,
  SetChainParams,
  SetPrimaryParams,
  SetSecretParams,
  SuggestParams,
  ModelsParams,
} from './methods';
