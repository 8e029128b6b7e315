import type { PresenceCommand } from "../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../platform/domain/decider.js";
import { presenceDecider, type PresenceOptions } from "./domain/decide.js";
import { nextExpiry, type PresenceState } from "./domain/state.js";
import type { ProcessorDefinition, ScheduledCommand } from "../../platform/processor/processor-definition.js";

/**
 * The presence processor: one aggregate per user over `quikapp.presence.commands` (key: userId),
 * its changelog `quikapp.presence.state`.
 *
 * Timer: at the earliest deadline of the user's connections (staleness, or the end of a closing
 * connection's reconnect grace) it issues `ExpirePresence{reason: stale}` for the connections
 * due at that instant; a heartbeat, or a reconnect of the closing connection's device, decided
 * before it arrives makes it a no-op.
 *
 * Accepted commands answer: connect `{connectionId}`; set status `{status}` (the chosen status);
 * the others `{}`.
 */
export function presenceProcessor(options: PresenceOptions): ProcessorDefinition<"presence", PresenceState> {
  return {
    contexts: ["presence"],
    decider: presenceDecider(options),
    result: (_events, _state, command) => resultOf(command),
    // A user's commands are few and retried within seconds (reconnects, heartbeats).
    dedupe: { maxEntries: 32, maxAgeMs: 10 * 60_000 },
    timer: staleConnectionsTimer,
  };
}

/** The expiry of the user's next stale connections, if the user has open connections. */
export function staleConnectionsTimer(state: PresenceState, userId: string): ScheduledCommand<PresenceCommand> | undefined {
  const next = nextExpiry(state);
  if (next === undefined || state.status !== "known") return undefined;
  return {
    at: next.at,
    workspaceId: state.workspaceId,
    command: { type: "ExpirePresence", data: { userId, reason: "stale", gatewayId: null, connectionIds: next.connectionIds } },
  };
}

function resultOf(command: PresenceCommand): Record<string, unknown> {
  switch (command.type) {
    case "ConnectClient":
      return { connectionId: command.data.connectionId };
    case "SetStatus":
      return { status: command.data.status };
    case "DisconnectClient":
    case "PresenceHeartbeat":
    case "UpdateProfile":
    case "ExpirePresence":
    case "JoinTopic":
    case "LeaveTopic":
      return {};
    default:
      return unreachable(command);
  }
}
