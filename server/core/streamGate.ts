// One request's stream to the caller, shared by every attempt of that request. Only one attempt
// at a time may write to it (the "owner"); parallel attempts (fastest, hedging) buffer until they
// own it. When an owner dies after forwarding anything (text or a piece of a tool call), the next
// owner first sends a reset so the caller discards the partial answer — partial text or a half
// tool call must never read as the final one.
import type { ToolCall, ToolCallDelta } from '../../protocol/types';

export interface StreamSink {
  onDelta?: (delta: string, model: string) => void;
  onToolCallDelta?: (delta: ToolCallDelta, model: string) => void;
  onReset?: (model: string) => void;
}

type Piece = { text: string } | { toolCall: ToolCallDelta };

interface Channel {
  model: string;
  buffered: Piece[];
  forwarded: boolean;
  /** Tool calls of this attempt already forwarded (by index). */
  toolCallsSeen: Set<number>;
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
    const ch: Channel = { model, buffered: [], forwarded: false, toolCallsSeen: new Set() };
    if (this.streaming) this.live.add(ch);
    return ch;
  }

  push(ch: Channel, delta: string): void {
    this.pushPiece(ch, { text: delta });
  }

  pushToolCall(ch: Channel, delta: ToolCallDelta): void {
    this.pushPiece(ch, { toolCall: delta });
  }

  private pushPiece(ch: Channel, piece: Piece): void {
    if (!this.streaming || !this.live.has(ch)) return;
    if (!this.owner) this.claim(ch);
    if (this.owner === ch) this.forward(ch, piece);
    else ch.buffered.push(piece);
  }

  /** The attempt failed or was abandoned: its output is void; hand the stream to the most advanced survivor. */
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
  succeed(ch: Channel, text: string, toolCalls: readonly ToolCall[] = []): void {
    if (!this.streaming || !this.live.has(ch)) return;
    if (this.owner !== ch) this.claim(ch);
    // A provider that answered without streaming still owes the streaming caller the answer.
    if (!ch.forwarded && text !== '') this.forward(ch, { text });
    for (const [index, call] of toolCalls.entries()) {
      if (ch.toolCallsSeen.has(index)) continue;
      this.forward(ch, { toolCall: { index, id: call.id, name: call.name, arguments: call.arguments } });
    }
    this.live.delete(ch);
  }

  private claim(ch: Channel): void {
    if (this.dirty) this.call(() => this.sink.onReset?.(ch.model));
    this.owner = ch;
    this.dirty = false;
    const pending = ch.buffered.splice(0);
    for (const d of pending) this.forward(ch, d);
  }

  private forward(ch: Channel, piece: Piece): void {
    ch.forwarded = true;
    this.dirty = true;
    if ('text' in piece) this.call(() => this.sink.onDelta?.(piece.text, ch.model));
    else {
      ch.toolCallsSeen.add(piece.toolCall.index);
      this.call(() => this.sink.onToolCallDelta?.(piece.toolCall, ch.model));
    }
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
