// The "Get Started with Backstop" walkthrough completes each step from the real action, not from a
// click on its button: context keys set when it happened (a provider answers the cheap reachability
// check, a chain with a fallback is in place, a failover drill passed). Opening diagnostics completes
// through onCommand. package.json's steps name these keys in their completionEvents.
import * as vscode from 'vscode';
import type { Status } from '../protocol/types';

/** `<publisher>.<name>#<walkthrough id>`, as workbench.action.openWalkthrough takes it. */
export const WALKTHROUGH_ID = 'backstop.backstop#gettingStarted';
export const WALKTHROUGH_KEYS = {
  providerReady: 'backstop.walkthrough.providerReady',
  chainReady: 'backstop.walkthrough.chainReady',
  drillPassed: 'backstop.walkthrough.drillPassed',
} as const;
export type WalkthroughStep = keyof typeof WALKTHROUGH_KEYS;
/** The step ids in package.json's walkthrough, by what completes them. */
const STEP_IDS: Record<WalkthroughStep, string> = {
  providerReady: 'addProvider',
  chainReady: 'chooseChain',
  drillPassed: 'failoverDrill',
};

/** Pure: which steps a status proves done. A provider counts once one of its models can be called. */
export function stepsDone(s: Status): Partial<Record<WalkthroughStep, true>> {
  return {
    ...(s.models.ready > 0 ? { providerReady: true as const } : {}),
    ...(s.chain.length >= 2 ? { chainReady: true as const } : {}),
  };
}

export class Walkthrough {
  private readonly done = new Set<WalkthroughStep>();

  /** `extensionId`: "<publisher>.<name>", the first part of a walkthrough step's full id. */
  constructor(private readonly extensionId: string) {}

  /** Set the step's context key (once: a step done stays done, as VS Code keeps it checked). */
  mark(step: WalkthroughStep): void {
    if (this.done.has(step)) return;
    this.done.add(step);
    void vscode.commands.executeCommand('setContext', WALKTHROUGH_KEYS[step], true);
    // VS Code creates its walkthrough service only when something needs it, and a context key already
    // true when it registers the steps never completes one: tell it directly too (the workbench's own
    // command; where it does not exist, the context key and the completion events remain).
    const id = `${this.extensionId}#${WALKTHROUGH_ID.split('#')[1] ?? ''}#${STEP_IDS[step]}`;
    vscode.commands.executeCommand('welcome.markStepComplete', id).then(undefined, () => undefined);
  }

  onStatus(s: Status): void {
    for (const step of Object.keys(stepsDone(s)) as WalkthroughStep[]) this.mark(step);
  }

  /** The steps marked so far (for tests). */
  get marked(): WalkthroughStep[] {
    return [...this.done];
  }
}
