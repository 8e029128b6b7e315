import type { ChannelReply, SocketIdentity } from "./channel.js";
import { refuse, replying } from "./channel-replies.js";

/** A client event's handler on a topic: the `ok` response, or a thrown `ServiceError` (the error reply). */
export type PushHandler = (identity: SocketIdentity, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** A topic's client events and their handlers, by event name. */
export type PushHandlers = Readonly<Record<string, PushHandler>>;

/** The handler of `event` in `handlers`, if it has one (own keys only: `__proto__` is no event). */
export function handlerOf<Handler>(handlers: Readonly<Record<string, Handler>>, event: string): Handler | undefined {
  return Object.hasOwn(handlers, event) ? handlers[event] : undefined;
}

/** Answers a client push with its handler in `handlers`: `unknown_event` when it has none. */
export function handlePush(handlers: PushHandlers, event: string, identity: SocketIdentity, payload: Record<string, unknown>): Promise<ChannelReply> {
  const handler = handlerOf(handlers, event);
  return handler === undefined ? Promise.resolve(refuse("unknown_event")) : replying(() => handler(identity, payload));
}
