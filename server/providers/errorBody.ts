// Error bodies of the four wire formats, read into one shape. They do not conflict, so one reader
// serves all: OpenAI `{error:{message,type,code,param}}`, Anthropic `{type:"error",error:{type,message}}`,
// Gemini `{error:{code,message,status,details:[RetryInfo|ErrorInfo]}}` (sometimes inside an array),
// Ollama `{error:"text"}`, and plain-text bodies from proxies.
import { parseDurationMs } from './retryAfter';

export interface ErrorBodyInfo {
  message?: string;
  /** OpenAI `code` (e.g. context_length_exceeded); Gemini's numeric code is not kept. */
  code?: string;
  /** OpenAI/Anthropic `type` (e.g. overloaded_error). */
  type?: string;
  /** Gemini `status` (e.g. RESOURCE_EXHAUSTED). */
  status?: string;
  /** Gemini ErrorInfo `reason` (e.g. API_KEY_INVALID). */
  reason?: string;
  /** Gemini RetryInfo `retryDelay`. */
  retryDelayMs?: number;
}

export function parseErrorBody(body: string): ErrorBodyInfo {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return {};
  }
  return errorInfoOf(json);
}

/** The same reading for an already-parsed object (an error event inside a stream). */
export function errorInfoOf(json: unknown): ErrorBodyInfo {
  if (Array.isArray(json)) json = json[0];
  if (!isRecord(json)) return {};
  const err = json.error;
  if (typeof err === 'string') return { message: err };
  const e = isRecord(err) ? err : json;
  const info: ErrorBodyInfo = {};
  const message = e.message ?? e.detail ?? e.msg;
  if (typeof message === 'string' && message !== '') info.message = message;
  if (typeof e.code === 'string' && e.code !== '') info.code = e.code;
  if (typeof e.type === 'string' && e.type !== '') info.type = e.type;
  if (typeof e.status === 'string' && e.status !== '') info.status = e.status;
  if (Array.isArray(e.details)) {
    for (const d of e.details) {
      if (!isRecord(d)) continue;
      if (typeof d.retryDelay === 'string') {
        const ms = parseDurationMs(d.retryDelay);
        if (ms !== undefined) info.retryDelayMs = ms;
      }
      if (typeof d.reason === 'string' && info.reason === undefined) info.reason = d.reason;
    }
  }
  return info;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
