import type { ProcessorDefinition } from "../../platform/processor/processor-definition.js";
import { sessionDecider } from "./domain/decide.js";
import type { SessionState } from "./domain/state.js";

/**
 * The sessions processor: one aggregate per user over `quikapp.sessions.commands` (key:
 * userId), its changelog `quikapp.sessions.state`. An accepted disconnect answers
 * `{tokensRevokedBefore}` (epoch ms, or null), a refresh `{}`.
 */
export const sessionsProcessor: ProcessorDefinition<"sessions", SessionState> = {
  contexts: ["sessions"],
  decider: sessionDecider,
  result: (events) => {
    const disconnected = events.find((event) => event.type === "UserDisconnected");
    return disconnected === undefined ? {} : { tokensRevokedBefore: disconnected.data.tokensRevokedBefore };
  },
};
