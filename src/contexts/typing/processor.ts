import type { TypingCommand } from "../../platform/contract/generated/avro-types.js";
import { typingDecider, type TypingOptions } from "./domain/decide.js";
import { nextExpiry, type TypingState } from "./domain/state.js";
import type { ProcessorDefinition, ScheduledCommand } from "../../platform/processor/processor-definition.js";

/**
 * The typing processor: one aggregate per conversation over `quikapp.typing.commands` (key:
 * conversationId), its changelog `quikapp.typing.state`. Accepted commands answer `{}`.
 *
 * Timer: at the earliest indicator deadline it issues `ExpireTyping` for that member and
 * deadline; a renewal decided before it arrives makes it a no-op.
 */
export function typingProcessor(options: TypingOptions): ProcessorDefinition<"typing", TypingState> {
  return {
    contexts: ["typing"],
    decider: typingDecider(options),
    // Typing commands are retried within seconds or not at all.
    dedupe: { maxEntries: 16, maxAgeMs: 60_000 },
    timer: typingExpiryTimer,
  };
}

/** The expiry of the conversation's next typing indicator, if anyone is typing. */
export function typingExpiryTimer(state: TypingState, conversationId: string): ScheduledCommand<TypingCommand> | undefined {
  const next = nextExpiry(state);
  if (next === undefined || state.status !== "typing") return undefined;
  return {
    at: next.at,
    workspaceId: state.workspaceId,
    command: { type: "ExpireTyping", data: { conversationId, userId: next.userId, deadline: next.at } },
  };
}
