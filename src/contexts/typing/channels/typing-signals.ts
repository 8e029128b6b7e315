import type { Counter } from "prom-client";
import type { StartTyping, StopTyping } from "../../../platform/contract/generated/avro-types.js";
import type { ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import type { TypingActions } from "../../conversations/channels/conversation-actions.js";

/** How many coalescing entries may pile up before expired ones are pruned. */
const PRUNE_ABOVE = 10_000;

/**
 * Typing over the ephemeral path: `StartTyping` / `StopTyping` commands on
 * `quikapp.typing.commands`, fire-and-forget (the reply is `ok` once Kafka has the command).
 * Clients send a start on every few keystrokes; a gateway forwards at most one start per user
 * and conversation within `coalesceMs` (the others are answered `ok` with `coalesced: true`, and
 * are free: not charged against the user's typing budget), so the processor renews an indicator
 * at most that often, well before it expires. A stop is always forwarded and ends the
 * coalescing window.
 */
export function typingSignals(
  bus: CommandBus,
  settings: { readonly coalesceMs: number },
  metrics?: { readonly typingOperations: Pick<Counter<"operation">, "inc"> },
  now: () => number = Date.now,
): TypingActions {
  /** (conversation, user) → when its last start was forwarded. */
  const forwarded = new Map<string, number>();
  const prune = (at: number) => {
    for (const [key, time] of forwarded) if (at - time >= settings.coalesceMs) forwarded.delete(key);
  };
  const dispatch = async (type: "StartTyping" | "StopTyping", conversationId: string, identity: SocketIdentity): Promise<ChannelReply> => {
    const command: StartTyping & StopTyping = {
      meta: bus.meta(identity, undefined, { expectReply: false }),
      conversationId,
      userId: identity.userId,
    };
    await bus.dispatch("typing", type, conversationId, command);
    return { status: "ok", response: {} };
  };
  return {
    start(conversationId, identity) {
      const key = `${conversationId}\u0000${identity.userId}`;
      const at = now();
      const last = forwarded.get(key);
      if (last !== undefined && at - last < settings.coalesceMs) {
        metrics?.typingOperations.inc({ operation: "coalesced" });
        return Promise.resolve({ status: "ok", response: { coalesced: true }, free: true });
      }
      if (forwarded.size >= PRUNE_ABOVE) prune(at);
      forwarded.set(key, at);
      metrics?.typingOperations.inc({ operation: last === undefined ? "start" : "renew" });
      return dispatch("StartTyping", conversationId, identity);
    },
    stop(conversationId, identity) {
      forwarded.delete(`${conversationId}\u0000${identity.userId}`);
      metrics?.typingOperations.inc({ operation: "stop" });
      return dispatch("StopTyping", conversationId, identity);
    },
  };
}
