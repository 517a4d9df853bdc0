// The daemon's event history (backstop/events): the last fallbacks and the requests no model could
// serve, each with its reasons, kept through a Store so it survives a daemon restart (and so a window
// reload). Pure: time comes in with each event, persistence through the injected Store.
import type { Attempt, FailureKind, HistoryEvent } from '../../protocol/types';
import { HistoryEvent as HistoryEventSchema } from '../../protocol/schemas';
import type { Store } from './types';

export const EVENTS_STORE_KEY = 'events';
/** How many events the daemon remembers: enough for a day of trouble, small enough to write often. */
export const EVENT_HISTORY_MAX = 200;
/** Messages are kept short in the history (an upstream error body can be long). */
const MAX_MESSAGE_CHARS = 500;

export class EventHistory {
  /** Oldest first. */
  private readonly list: HistoryEvent[];
  private seq = 0;

  constructor(
    private readonly store?: Store,
    private readonly max = EVENT_HISTORY_MAX,
  ) {
    this.list = restore(store?.read<unknown>(EVENTS_STORE_KEY)).slice(-max);
  }

  add(e: Omit<HistoryEvent, 'id'>): HistoryEvent {
    const entry: HistoryEvent = { ...e, message: clip(e.message), id: `${e.requestId}#${this.seq++}` };
    this.list.push(entry);
    if (this.list.length > this.max) this.list.splice(0, this.list.length - this.max);
    this.store?.write(EVENTS_STORE_KEY, { version: 1, events: this.list });
    return entry;
  }

  /** The most recent events, newest first. */
  recent(limit = this.max, kind?: HistoryEvent['kind']): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    for (let i = this.list.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.list[i];
      if (e && (!kind || e.kind === kind)) out.push(e);
    }
    return out;
  }
}

/** Why a request failed, for its history entry: the last model's failure, and each model tried with its reason. */
export function failedEvent(attempts: readonly Attempt[]): Pick<HistoryEvent, 'failure' | 'models'> {
  const byModel = new Map<string, { model: string; failure?: FailureKind; message?: string }>();
  // The last attempt of each model carries the reason it was given up.
  for (const a of attempts)
    byModel.set(a.model, {
      model: a.model,
      ...(a.failure ? { failure: a.failure } : {}),
      ...(a.message ? { message: clip(a.message) } : {}),
    });
  const models = [...byModel.values()];
  return { failure: models.at(-1)?.failure ?? 'unknown', ...(models.length ? { models } : {}) };
}

/** Whether a request moved past its first model: more than one model was really tried (not skipped). */
export function fellBack(attempts: readonly Attempt[]): boolean {
  const tried = new Set(attempts.filter((a) => a.outcome !== 'skipped').map((a) => a.model));
  return tried.size > 1;
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/** Entries read back from disk are checked one by one: a damaged entry is dropped, not the history. */
function restore(raw: unknown): HistoryEvent[] {
  const events = (raw as { events?: unknown } | undefined)?.events;
  if (!Array.isArray(events)) return [];
  return events.flatMap((e: unknown) => {
    const r = HistoryEventSchema.safeParse(e);
    return r.success ? [r.data] : [];
  });
}
