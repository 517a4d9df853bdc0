// The seam through which daemons of one team share what their circuits learn (docs/team.md). The core
// only sees this interface: the Redis implementation lives in server/shared/. Every method answers at
// once from what the implementation already knows; none waits on the network.

/** A change of one model's circuit, told to the other daemons and applied by them. */
export type SharedCircuitEvent =
  /** Opened (or re-opened after a failed probe) until `until` (epoch ms); `opens` drives cooldown growth. */
  | { type: 'open'; until: number; opens: number }
  /** A probe succeeded: the model carries traffic again. */
  | { type: 'closed' }
  /** Rate limited: paused until `until` (Retry-After or the growing default). */
  | { type: 'cooling'; until: number };

/**
 * The half-open probe slot across daemons: `granted` — this daemon holds the shared lease; `busy` —
 * another daemon holds it (or it is being asked for); `local` — nothing shared right now (no Redis, or
 * it is down), decide with local state alone.
 */
export type ProbeLease = 'granted' | 'busy' | 'local';

export interface SharedHealth {
  /** Tell every other daemon (fire and forget: never awaited on a request's path). */
  publish(model: string, event: SharedCircuitEvent): void;
  /** Take (`take: true`) or look at the shared probe lease of a half-open model. */
  probeLease(model: string, take: boolean): ProbeLease;
  /** The probe this daemon held is over (its result was published, or it never ran). */
  releaseProbe(model: string): void;
  /** One call's outcome, counted in the team's health window for the model. */
  count(model: string, ok: boolean): void;
}
