import type { ChannelReply, JoinResult } from "./channel.js";

/** Reasons a join or push is refused; stable strings clients can switch on. */
export type RefusalReason = "unauthorized" | "invalid_topic" | "unknown_event" | "not_available";

export function refuse(reason: RefusalReason): ChannelReply & JoinResult & { status: "error" } {
  return { status: "error", response: { reason } };
}

/** A joined channel that accepts no client events (server-to-client topics). */
export function listenOnly(onLeave: () => void = () => undefined) {
  return {
    handleIn: () => Promise.resolve(refuse("unknown_event")),
    leave: () => Promise.resolve(onLeave()),
  };
}
