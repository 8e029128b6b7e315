import { ServiceError, type ErrorCode } from "../errors/error-codes.js";
import type { ChannelReply, JoinResult } from "./channel.js";

/** An error reply with the registry's `code` as its reason (and `message`, and whatever else the client needs). */
export function refuse(reason: ErrorCode, details: Record<string, unknown> = {}): ChannelReply & JoinResult & { status: "error" } {
  return { status: "error", response: { ...details, reason } };
}

/**
 * Answers a client push: `ok` with what `handle` resolves, or the error reply of the
 * {@link ServiceError} it throws (`{reason, message}`); anything else it throws is a fault of the
 * channel, left to the socket layer (logged, answered `internal`).
 */
export async function replying(handle: () => Promise<Record<string, unknown>>): Promise<ChannelReply> {
  try {
    return { status: "ok", response: await handle() };
  } catch (error) {
    if (error instanceof ServiceError) return refuse(error.code, { message: error.publicMessage });
    throw error;
  }
}

/** A joined channel that accepts no client events (server-to-client topics). */
export function listenOnly(onLeave: () => void = () => undefined) {
  return {
    handleIn: () => Promise.resolve(refuse("unknown_event")),
    leave: () => Promise.resolve(onLeave()),
  };
}
