// Wait on events, not on time: resolve when `check` holds, re-checking on every event. The timeout
// is only a safety net that turns a hang into a failure naming what never happened.
import type * as vscode from 'vscode';

export const EVENT_TIMEOUT_MS = 60_000;

export function waitFor<T>(
  what: string,
  events: vscode.Event<unknown>[],
  check: () => T | undefined | false,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const first = check();
    if (first) {
      resolve(first);
      return;
    }
    const subs: vscode.Disposable[] = [];
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      for (const s of subs) s.dispose();
    };
    for (const ev of events) {
      subs.push(
        ev(() => {
          const v = check();
          if (v) {
            done();
            resolve(v);
          }
        }),
      );
    }
  });
}

/** The next event matching `predicate`. Subscribe BEFORE triggering the action. */
export function nextEvent<T>(
  what: string,
  event: vscode.Event<T>,
  predicate: (e: T) => boolean = () => true,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`));
    }, timeoutMs);
    const sub = event((e) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(e);
    });
  });
}
