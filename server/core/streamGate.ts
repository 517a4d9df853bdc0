// One request's stream to the caller, shared by every attempt of that request. Only one attempt
// at a time may write to it (the "owner"); parallel attempts (fastest, hedging) buffer until they
// own it. When an owner dies after forwarding text, the next owner first sends a reset so the
// caller discards the partial answer — partial text must never read as the final one.

export interface StreamSink {
  onDelta?: (delta: string, model: string) => void;
  onReset?: (model: string) => void;
}

interface Channel {
  model: string;
  buffered: string[];
  forwarded: boolean;
}

export class StreamGate {
  private owner: Channel | undefined;
  /** Something reached the caller that the eventual answer may not start with. */
  private dirty = false;
  private readonly live = new Set<Channel>();

  constructor(private readonly sink: StreamSink) {}

  get streaming(): boolean {
    return this.sink.onDelta !== undefined;
  }

  /** A new attempt's channel. */
  open(model: string): Channel {
    const ch: Channel = { model, buffered: [], forwarded: false };
    if (this.streaming) this.live.add(ch);
    return ch;
  }

  push(ch: Channel, delta: string): void {
    if (!this.streaming || !this.live.has(ch)) return;
    if (!this.owner) this.claim(ch);
    if (this.owner === ch) this.forward(ch, delta);
    else ch.buffered.push(delta);
  }

  /** The attempt failed or was abandoned: its text is void; hand the stream to the most advanced survivor. */
  fail(ch: Channel): void {
    if (!this.live.delete(ch)) return;
    if (this.owner !== ch) return;
    this.owner = undefined;
    let best: Channel | undefined;
    for (const c of this.live)
      if (c.buffered.length > 0 && (!best || c.buffered.length > best.buffered.length)) best = c;
    if (best) this.claim(best);
  }

  /** The attempt won: make sure the caller's stream is exactly its answer. */
  succeed(ch: Channel, text: string): void {
    if (!this.streaming || !this.live.has(ch)) return;
    if (this.owner !== ch) this.claim(ch);
    // A provider that answered without streaming still owes the streaming caller the text.
    if (!ch.forwarded && text !== '') this.forward(ch, text);
    this.live.delete(ch);
  }

  private claim(ch: Channel): void {
    if (this.dirty) this.call(() => this.sink.onReset?.(ch.model));
    this.owner = ch;
    this.dirty = false;
    const pending = ch.buffered.splice(0);
    for (const d of pending) this.forward(ch, d);
  }

  private forward(ch: Channel, delta: string): void {
    ch.forwarded = true;
    this.dirty = true;
    this.call(() => this.sink.onDelta?.(delta, ch.model));
  }

  /** A throwing caller callback must not take the engine down with it. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch {
      // The transport owns its own errors; the answer still completes.
    }
  }
}

export type { Channel as StreamChannel };
