import type { Logger } from "../../infra/log/logger.js";
import type { ChannelOutlet, ChannelReply, JoinResult, JoinedChannel, SocketIdentity } from "./channel.js";
import type { ActionRateLimiter } from "./action-rate-limiter.js";
import type { ErrorCode } from "../errors/error-codes.js";
import type { DisconnectReason } from "./disconnect-reasons.js";
import {
  channelEndFrame,
  decodeFrame,
  encodeFrame,
  PHOENIX,
  pushFrame,
  replyFrame,
  type FrameError,
  type PhoenixFrame,
  type EncodedFrame,
  type ProtocolVersion,
} from "./phoenix-serializer.js";
import type { TopicRouter } from "./topic-router.js";
import { ACCESS_TOKEN_EVENT } from "./token-refresh.js";

/** The socket under a session: the WebSocket in production, a recorder in tests. */
export interface SessionTransport {
  /** Sends one text frame (a Buffer holds its UTF-8 bytes). May close the socket instead (slow consumer); the owner then calls `terminate`. */
  send(text: EncodedFrame): void;
  /** Closes the socket; the owner then calls `terminate`. */
  close(reason: DisconnectReason): void;
}

export interface SessionLimits {
  readonly maxChannels: number;
  /** Frames above this size get a `payload_too_large` error reply. */
  readonly maxFrameBytes: number;
  /** Undecodable frames in a row after which the socket is closed as a protocol violation. */
  readonly maxBadFrames: number;
  /** Frames received but not yet handled; more get an `overloaded` error reply. */
  readonly maxPendingFrames: number;
}

export type InboundKind = "heartbeat" | "join" | "leave" | "event" | "invalid";
export type OutboundKind = "reply" | "push" | "close" | "error";

/** Counts what a session does (metrics); every method must be cheap and must not throw. */
export interface SessionObserver {
  inbound(kind: InboundKind): void;
  outbound(kind: OutboundKind): void;
  rateLimited(limit: string): void;
}

export interface SocketSessionOptions {
  readonly identity: SocketIdentity;
  readonly version: ProtocolVersion;
  readonly router: TopicRouter;
  readonly transport: SessionTransport;
  readonly limits: SessionLimits;
  /** Absent: nothing is rate limited. */
  readonly rateLimiter?: ActionRateLimiter;
  /** A child logger carrying the connection id. */
  readonly logger: Logger;
  readonly observer?: SessionObserver;
  /**
   * Answers an `access_token` push on any joined topic (the socket replaces its token); the
   * topic's channel never sees it. Absent: the channel handles it like any other event.
   */
  readonly refreshToken?: (payload: Record<string, unknown>) => Promise<ChannelReply>;
}

/** Server pushes held while a join is still running, so they follow its reply. */
const MAX_PUSHES_BEFORE_JOIN_REPLY = 1_000;

interface ChannelEntry {
  readonly topic: string;
  readonly joinRef: string | null;
  state: "joining" | "joined" | "ended";
  channel?: JoinedChannel;
  /** Joins and client pushes being handled: a server close waits until their replies are out. */
  busy: number;
  closeRequested?: string;
  leaveCalled: boolean;
  readonly heldPushes: PhoenixFrame[];
}

/**
 * The Phoenix protocol state of one socket: which topics are joined under which join ref, and
 * what each client frame does to them. Frames of one topic are started one after the other, in
 * order (a push's reply may come later than the next frame's start); topics proceed
 * independently, and heartbeats are answered at once. A failing handler
 * costs its channel (`phx_error`), never the socket; undecodable frames cost nothing until
 * `maxBadFrames` arrive in a row.
 */
export class SocketSession {
  private readonly joined = new Map<string, ChannelEntry>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Pushes started whose replies are not out yet. */
  private readonly answering = new Set<Promise<void>>();
  private joining = 0;
  private pending = 0;
  private badFramesInARow = 0;
  private terminated = false;
  private quiescing = false;

  constructor(private readonly options: SocketSessionOptions) {}

  /** Topics currently joined. */
  get channelCount(): number {
    return this.joined.size;
  }

  /** Handles one WebSocket message. Never throws; the work it starts never rejects. */
  receive(data: string | Uint8Array, binary: boolean): void {
    if (this.terminated) return;
    const { version, limits } = this.options;
    const decoded = decodeFrame(data, { version, binary, maxBytes: limits.maxFrameBytes });
    if (!decoded.ok) {
      this.refuseFrame(decoded.error);
      return;
    }
    this.badFramesInARow = 0;
    this.dispatch(decoded.frame);
  }

  /**
   * The socket is gone: every joined channel's `leave()` runs, nothing more is sent, and joins
   * still running are left as soon as they complete. Idempotent.
   */
  async terminate(): Promise<void> {
    this.terminated = true;
    const entries = [...this.joined.values()];
    this.joined.clear();
    for (const entry of entries) entry.state = "ended";
    await Promise.all(entries.map((entry) => this.leaveQuietly(entry)));
  }

  /** Resolves once every frame received so far has been handled. */
  async drained(): Promise<void> {
    while (this.queues.size > 0 || this.answering.size > 0) {
      await Promise.all([...this.queues.values(), ...this.answering]);
    }
  }

  /**
   * Before a graceful close: joins, leaves and pushes received from now on get a
   * `shutting_down` error reply (heartbeats are still answered), and frames already received
   * get up to `timeoutMs` to finish, so their replies reach the client before the socket closes.
   */
  async quiesce(timeoutMs: number): Promise<void> {
    this.quiescing = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.drained(), timeout]);
    clearTimeout(timer);
  }

  private dispatch(frame: PhoenixFrame): void {
    const { observer } = this.options;
    if (frame.topic === PHOENIX.socketTopic && frame.event === PHOENIX.heartbeat) {
      observer?.inbound("heartbeat");
      this.send(replyFrame({ joinRef: null, ref: frame.ref, topic: frame.topic }, "ok", {}), "reply");
      return;
    }
    const kind = frame.event === PHOENIX.join ? "join" : frame.event === PHOENIX.leave ? "leave" : "event";
    observer?.inbound(kind);
    if (this.quiescing) {
      this.replyError(frame, frame.joinRef, { reason: "shutting_down" });
      return;
    }
    if (this.pending >= this.options.limits.maxPendingFrames) {
      this.replyError(frame, frame.joinRef, { reason: "overloaded" });
      return;
    }
    this.enqueue(frame.topic, () => {
      if (kind === "join") return this.join(frame);
      if (kind === "leave") return this.leave(frame);
      return this.push(frame);
    });
  }

  private async join(frame: PhoenixFrame): Promise<void> {
    const { topic } = frame;
    if (!(await this.admit(frame)) || this.terminated) return;
    const joinRef = frame.joinRef ?? frame.ref;
    const previous = this.joined.get(topic);
    // A second join of a joined topic replaces the first, as in Phoenix: the old join ends with phx_close.
    if (previous) await this.end(previous, PHOENIX.close, {});

    const family = this.options.router(topic);
    if (!family) {
      this.options.logger.debug({ topic }, "join of an unmatched topic");
      this.replyError(frame, null, { reason: "unmatched topic" });
      return;
    }
    if (this.joined.size + this.joining >= this.options.limits.maxChannels) {
      this.replyError(frame, joinRef, { reason: "too many channels" });
      return;
    }

    const entry: ChannelEntry = { topic, joinRef, state: "joining", busy: 1, leaveCalled: false, heldPushes: [] };
    this.joining += 1;
    let result: JoinResult;
    try {
      result = await family.join(topic, frame.payload, this.options.identity, this.outletFor(entry));
    } catch (error) {
      this.options.logger.error({ err: error, topic }, "channel join failed");
      result = { status: "error", response: { reason: "internal" } };
    } finally {
      this.joining -= 1;
    }

    if (result.status !== "ok") {
      entry.state = "ended";
      this.replyError(frame, joinRef, result.response);
      return;
    }
    entry.channel = result.channel;
    if (this.terminated) {
      entry.state = "ended";
      await this.leaveQuietly(entry);
      return;
    }
    entry.state = "joined";
    this.joined.set(topic, entry);
    this.send(replyFrame({ joinRef, ref: frame.ref, topic }, "ok", result.response), "reply");
    for (const held of entry.heldPushes.splice(0)) this.send(held, "push");
    this.settle(entry);
  }

  private async leave(frame: PhoenixFrame): Promise<void> {
    const entry = this.joined.get(frame.topic);
    if (!entry || !matchesJoin(entry, frame)) {
      // Nothing (or an earlier join) to leave: Phoenix acknowledges, and so do we.
      this.send(replyFrame(frame, "ok", {}), "reply");
      return;
    }
    this.joined.delete(entry.topic);
    entry.state = "ended";
    await this.leaveQuietly(entry);
    this.send(replyFrame({ joinRef: entry.joinRef, ref: frame.ref, topic: entry.topic }, "ok", {}), "reply");
    this.send(channelEndFrame(PHOENIX.close, entry.topic, entry.joinRef), "close");
  }

  private async push(frame: PhoenixFrame): Promise<void> {
    const entry = this.joined.get(frame.topic);
    if (!entry || !matchesJoin(entry, frame)) {
      this.replyError(frame, null, { reason: "unmatched topic" });
      return;
    }
    if (!(await this.admit(frame))) return;
    const channel = entry.channel;
    if (entry.state !== "joined" || !channel) {
      // Closed by the server while the rate limiter was asked.
      this.replyError(frame, null, { reason: "unmatched topic" });
      return;
    }
    // The push is started here, in order, but its reply is not awaited before the next frame of
    // the topic: a handler that waits for a command's outcome must not serialize a busy channel.
    // What a handler does before its first await (validating, queueing its command) keeps the
    // order of the frames.
    entry.busy += 1;
    this.pending += 1;
    const answered = this.answer(frame, entry, channel).finally(() => {
      this.pending -= 1;
      this.answering.delete(answered);
    });
    this.answering.add(answered);
  }

  private async answer(frame: PhoenixFrame, entry: ChannelEntry, channel: JoinedChannel): Promise<void> {
    let reply: ChannelReply;
    try {
      const { refreshToken } = this.options;
      reply = checkedReply(
        frame.event === ACCESS_TOKEN_EVENT && refreshToken !== undefined ? await refreshToken(frame.payload) : await channel.handleIn(frame.event, frame.payload),
      );
    } catch (error) {
      // Phoenix errors a channel whose process crashed; the client rejoins it. The push gets an answer first.
      this.options.logger.error({ err: error, topic: frame.topic, event: frame.event }, "channel handler failed");
      this.replyError(frame, entry.joinRef, { reason: "internal" });
      entry.busy -= 1;
      if (entry.state === "joined") await this.end(entry, PHOENIX.error, {});
      return;
    }
    this.send(replyFrame({ joinRef: entry.joinRef, ref: frame.ref, topic: frame.topic }, reply.status, reply.response), "reply");
    if (reply.status === "ok" && reply.free === true) await this.options.rateLimiter?.refund(this.options.identity.userId, frame.event);
    this.settle(entry);
  }

  /** Ends a joined channel from the server side with `phx_close` or `phx_error`, then runs its `leave()`. */
  private async end(entry: ChannelEntry, event: typeof PHOENIX.close | typeof PHOENIX.error, payload: Record<string, unknown>) {
    if (this.joined.get(entry.topic) === entry) this.joined.delete(entry.topic);
    entry.state = "ended";
    this.send(channelEndFrame(event, entry.topic, entry.joinRef, payload), event === PHOENIX.close ? "close" : "error");
    await this.leaveQuietly(entry);
  }

  /** A join or push finished: carry out a server close that arrived meanwhile. */
  private settle(entry: ChannelEntry): void {
    entry.busy -= 1;
    if (entry.busy > 0) return;
    if (entry.closeRequested !== undefined && entry.state === "joined") {
      void this.end(entry, PHOENIX.close, { reason: entry.closeRequested });
    }
  }

  private outletFor(entry: ChannelEntry): ChannelOutlet {
    return {
      push: (event, payload) => {
        if (entry.state === "ended" || this.terminated) return;
        const frame = pushFrame(entry.topic, event, payload);
        if (entry.state === "joined") {
          this.send(frame, "push");
        } else if (entry.heldPushes.length < MAX_PUSHES_BEFORE_JOIN_REPLY) {
          entry.heldPushes.push(frame);
        } else {
          this.options.logger.warn({ topic: entry.topic, event }, "push dropped: too many pushes before the join completed");
        }
      },
      close: (reason) => {
        if (entry.state === "ended" || this.terminated) return;
        if (entry.busy > 0) {
          entry.closeRequested = reason;
          return;
        }
        void this.end(entry, PHOENIX.close, { reason });
      },
    };
  }

  private async admit(frame: PhoenixFrame): Promise<boolean> {
    const { rateLimiter, identity } = this.options;
    if (!rateLimiter) return true;
    const decision = await rateLimiter.consume(identity.userId, frame.event);
    if (decision.allowed) return true;
    this.options.observer?.rateLimited(decision.limit);
    this.replyError(frame, frame.joinRef, { reason: "rate_limited", retry_after_ms: decision.retryAfterMs });
    return false;
  }

  private refuseFrame(error: FrameError): void {
    const { logger, observer, limits, transport } = this.options;
    observer?.inbound("invalid");
    // Oversized and binary pushes are well-formed protocol the server declines, not garbage.
    const garbage = error.code !== "too_large" && error.code !== "binary_unsupported";
    this.badFramesInARow = garbage ? this.badFramesInARow + 1 : 0;
    if (error.ref !== null && error.topic !== null) {
      const to = { joinRef: error.joinRef, ref: error.ref, topic: error.topic };
      this.send(replyFrame(to, "error", refusalOf(error, limits.maxFrameBytes)), "reply");
    } else {
      logger.debug({ code: error.code, detail: error.message, inARow: this.badFramesInARow }, "dropped an undecodable frame");
    }
    if (garbage && this.badFramesInARow >= limits.maxBadFrames) {
      logger.warn({ badFrames: this.badFramesInARow }, "closing a socket that sends only undecodable frames");
      this.terminated = true;
      transport.close("protocolViolation");
    }
  }

  private replyError(frame: PhoenixFrame, joinRef: string | null, response: { reason: ErrorCode } & Record<string, unknown>): void {
    this.send(replyFrame({ joinRef, ref: frame.ref, topic: frame.topic }, "error", response), "reply");
  }

  private send(frame: PhoenixFrame, kind: OutboundKind): void {
    if (this.terminated) return;
    let text: EncodedFrame;
    try {
      text = encodeFrame(this.options.version, frame);
    } catch (error) {
      this.options.logger.error({ err: error, topic: frame.topic, event: frame.event }, "unserializable frame not sent");
      if (frame.event === PHOENIX.reply && frame.ref !== null) {
        this.send(replyFrame(frame, "error", { reason: "internal" }), "reply");
      }
      return;
    }
    this.options.observer?.outbound(kind);
    this.options.transport.send(text);
  }

  private async leaveQuietly(entry: ChannelEntry): Promise<void> {
    if (!entry.channel || entry.leaveCalled) return;
    entry.leaveCalled = true;
    try {
      await entry.channel.leave();
    } catch (error) {
      this.options.logger.error({ err: error, topic: entry.topic }, "channel leave failed");
    }
  }

  private enqueue(topic: string, task: () => Promise<void>): void {
    this.pending += 1;
    const run = async () => {
      try {
        await task();
      } catch (error) {
        this.options.logger.error({ err: error, topic }, "frame handling failed");
      } finally {
        this.pending -= 1;
      }
    };
    const previous = this.queues.get(topic);
    const next = previous ? previous.then(run) : run();
    this.queues.set(topic, next);
    void next.then(() => {
      if (this.queues.get(topic) === next) this.queues.delete(topic);
    });
  }
}

/** A frame belongs to the current join when it names it, or names none (V1 clients send no join_ref). */
function matchesJoin(entry: ChannelEntry, frame: PhoenixFrame): boolean {
  return frame.joinRef === null || frame.joinRef === entry.joinRef;
}

function refusalOf(error: FrameError, maxFrameBytes: number): { reason: ErrorCode } & Record<string, unknown> {
  if (error.code === "too_large") return { reason: "payload_too_large", max_bytes: maxFrameBytes };
  if (error.code === "binary_unsupported") return { reason: "binary_unsupported" };
  return { reason: "invalid_message", detail: error.message };
}

/** A handler's reply as the contract types it; anything else is treated as a handler failure. */
function checkedReply(reply: ChannelReply): ChannelReply {
  const shaped = reply as Partial<ChannelReply> | null | undefined;
  const valid =
    typeof shaped === "object" &&
    shaped !== null &&
    (shaped.status === "ok" || shaped.status === "error") &&
    typeof shaped.response === "object" &&
    shaped.response !== null;
  if (!valid) throw new TypeError("a channel handler returned something other than {status, response}");
  return reply;
}
