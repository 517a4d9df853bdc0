// The TypeScript types of the protocol, inferred from the schemas in `schemas.ts` (never written by
// hand) plus the enums. Type-only apart from the enum arrays: browser-safe and free of the schema
// library at run time, so the client and the webview import from here.
import type { z } from 'zod';
import type { NotificationParamsOf, ParamsIn, ResultOf } from './contract';
import type * as S from './schemas';

export * from './enums';
export type { ModelId, ParsedModelId } from './modelId';

export type ChatMessage = z.infer<typeof S.ChatMessage>;
export type ContentPart = z.infer<typeof S.ContentPart>;
export type ToolCall = z.infer<typeof S.ToolCall>;
export type ToolCallDelta = z.infer<typeof S.ToolCallDelta>;
export type Tool = z.infer<typeof S.Tool>;
export type ToolChoice = z.infer<typeof S.ToolChoice>;
export type ResponseFormat = z.infer<typeof S.ResponseFormat>;
export type Requirements = z.infer<typeof S.Requirements>;
export type CompleteParams = z.input<typeof S.CompleteParams>;
export type Attempt = z.infer<typeof S.Attempt>;
export type Usage = z.infer<typeof S.Usage>;
export type CompleteResult = z.infer<typeof S.CompleteResult>;
export type ModelHealth = z.infer<typeof S.ModelHealth>;
export type ModelFit = z.infer<typeof S.ModelFit>;
export type BenchmarkResult = z.infer<typeof S.BenchmarkResult>;
export type ModelInfo = z.infer<typeof S.ModelInfo>;
export type FallbackEvent = z.infer<typeof S.FallbackEvent>;
export type LastFallback = z.infer<typeof S.LastFallback>;
export type HistoryEvent = z.infer<typeof S.HistoryEvent>;
export type Status = z.infer<typeof S.Status>;
export type GpuInfo = z.infer<typeof S.GpuInfo>;
export type SystemSnapshot = z.infer<typeof S.SystemSnapshot>;
export type HealthFactor = z.infer<typeof S.HealthFactor>;
export type HealthReport = z.infer<typeof S.HealthReport>;
export type Stats = z.infer<typeof S.Stats>;
export type UsageReport = z.infer<typeof S.UsageReport>;
export type UsageRow = z.infer<typeof S.UsageRow>;
export type BudgetState = z.infer<typeof S.BudgetState>;
export type Suggestion = z.infer<typeof S.Suggestion>;
export type FallbackOption = z.infer<typeof S.FallbackOption>;
export type FallbackPlan = z.infer<typeof S.FallbackPlan>;
export type WaitEstimate = z.infer<typeof S.WaitEstimate>;
export type QueueItem = z.infer<typeof S.QueueItem>;
export type MonitorSample = z.infer<typeof S.MonitorSample>;
export type ErrorData = z.infer<typeof S.ErrorData>;

// Params and results of single methods that are used on their own (generated names are in methods.ts).
export type ChainResult = ResultOf<'setChain'>;
export type MonitorParams = ParamsIn<'monitor'>;
export type MonitorResult = ResultOf<'monitor'>;
export type DiscoverResult = ResultOf<'discover'>;
export type DownloadResult = ResultOf<'download'>;
export type BenchmarkProgress = NotificationParamsOf<'benchmarkProgress'>;
export type StreamDelta = NotificationParamsOf<'stream'>;
export type LogMessage = NotificationParamsOf<'log'>;
export type DownloadProgress = NotificationParamsOf<'downloadProgress'>;
