// What a gateway request says about itself in headers rather than in the body, so that any OpenAI or
// Anthropic client can set it without a new field: `x-backstop-local-only: true` (the privacy guard),
// `x-backstop-purpose: inline|complete|chat|gateway` (which purpose's chain and latency budget) and
// `x-backstop-trim-prompt: true` (the oldest turns may be left out to fit a model's context).
import type http from 'node:http';
import { PURPOSES, type Purpose } from '../../protocol/enums';

export const LOCAL_ONLY_HEADER = 'x-backstop-local-only';
export const PURPOSE_HEADER = 'x-backstop-purpose';
export const TRIM_PROMPT_HEADER = 'x-backstop-trim-prompt';

export interface GatewayContext {
  purpose: Purpose;
  localOnly?: true;
  trimPrompt?: true;
}

export type GatewayContextResult = { ok: true; value: GatewayContext } | { ok: false; message: string };

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no', '']);

/** The headers as request fields; an unreadable value is an error that names the header and the values it takes. */
export function gatewayContext(headers: http.IncomingHttpHeaders): GatewayContextResult {
  const value: GatewayContext = { purpose: 'gateway' };
  for (const [name, key] of [
    [LOCAL_ONLY_HEADER, 'localOnly'],
    [TRIM_PROMPT_HEADER, 'trimPrompt'],
  ] as const) {
    const raw = single(headers[name]);
    if (raw === undefined) continue;
    const v = raw.trim().toLowerCase();
    if (TRUE.has(v)) value[key] = true;
    else if (!FALSE.has(v)) return { ok: false, message: `header ${name}: "${clip(raw)}" is not true or false` };
  }
  const purpose = single(headers[PURPOSE_HEADER]);
  if (purpose !== undefined) {
    const v = purpose.trim().toLowerCase();
    if (!isPurpose(v))
      return {
        ok: false,
        message: `header ${PURPOSE_HEADER}: "${clip(purpose)}" is not a purpose; use one of ${PURPOSES.join(', ')}`,
      };
    value.purpose = v;
  }
  return { ok: true, value };
}

function isPurpose(v: string): v is Purpose {
  return (PURPOSES as readonly string[]).includes(v);
}

/** A repeated header counts only when every copy agrees (a proxy must not be able to add a weaker one). */
function single(h: string | string[] | undefined): string | undefined {
  if (!Array.isArray(h)) return h;
  return h.every((x) => x === h[0]) ? h[0] : h.join(',');
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
