// Cancellation inside the engine. A request stops as a whole (the caller left, its deadline passed), a
// lane stops when another model won the race, an attempt stops at its own deadlines: each layer follows
// the one above it. With an AbortController per layer, a plain request made four controllers and five
// EventTarget listener pairs, a tenth of the daemon's own CPU per request (issue 21). A `Cancel` is a
// flag, a reason and a list: the one real AbortSignal left inside is the provider's (attempt.ts).

/** What the engine reads of a cancellation: an AbortSignal is one, and so is a `Cancel`. */
export interface Abortable {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class Cancel implements Abortable {
  private _aborted = false;
  private _reason: unknown = undefined;
  private listeners: (() => void)[] = [];

  get aborted(): boolean {
    return this._aborted;
  }

  get reason(): unknown {
    return this._reason;
  }

  /** Abort once: later calls change nothing. Each listener runs once, in the order it was added. */
  abort(reason?: unknown): void {
    if (this._aborted) return;
    this._aborted = true;
    this._reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const run = this.listeners;
    this.listeners = [];
    for (const fn of run) {
      try {
        fn();
      } catch (e) {
        // As an EventTarget does: a listener's throw neither stops the others nor reaches the caller.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  /** Listeners always run once (`options` is accepted so a `Cancel` can stand where a signal does). */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this._aborted || this.listeners.includes(listener)) return;
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /**
   * Abort with `parent`'s reason when it aborts (at once if it has). Returns the function that stops
   * following it, to call when this layer is done.
   */
  follow(parent: Abortable): () => void {
    if (parent.aborted) {
      this.abort(parent.reason);
      return noop;
    }
    const onAbort = (): void => this.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    return () => parent.removeEventListener('abort', onAbort);
  }
}

function noop(): void {}
