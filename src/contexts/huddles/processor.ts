import type { HuddlesCommand, HuddlesignalingCommand } from "../../platform/contract/generated/avro-types.js";
import type { ProcessorDefinition, ScheduledCommand } from "../../platform/processor/processor-definition.js";
import { huddleDecider, type HuddleOptions } from "./domain/decide.js";
import { nextDeadline, type HuddleState } from "./domain/state.js";

/**
 * The huddles processor: one aggregate per huddle over `quikapp.huddles.commands` (key:
 * huddleId) and the huddle's signals on `quikapp.huddlesignaling.commands` (same key,
 * co-partitioned), its changelog `quikapp.huddles.state`, its events on `quikapp.huddles.events`
 * and relayed signals on `quikapp.huddlesignaling.events`, in order per huddle. Accepted commands
 * answer `{huddleId}`; signals are sent without waiting for an answer (the gateway checked them).
 *
 * Timer: while an empty huddle waits out `HUDDLE_EMPTY_TIMEOUT_MS`, it issues `ExpireEmptyHuddle`
 * at that deadline; a join decided before it arrives makes it a no-op.
 */
export function huddleProcessor(options: HuddleOptions): ProcessorDefinition<"huddles" | "huddlesignaling", HuddleState> {
  return {
    contexts: ["huddles", "huddlesignaling"],
    decider: huddleDecider(options),
    result: (_events, _state, command) => ({ huddleId: command.data.huddleId }),
    // Commands are retried within seconds; toggles and signals are frequent, so the window holds the last minutes of a busy huddle.
    dedupe: { maxEntries: 128, maxAgeMs: 60 * 60_000 },
    timer: huddleTimer,
  };
}

/** The end of the huddle's empty timeout as the command the runtime issues at it, while it is empty and waiting. */
export function huddleTimer(state: HuddleState, huddleId: string): ScheduledCommand<HuddlesCommand | HuddlesignalingCommand> | undefined {
  const at = nextDeadline(state);
  if (at === undefined || state.status === "absent") return undefined;
  return { at, workspaceId: state.workspaceId, command: { type: "ExpireEmptyHuddle", data: { huddleId, deadline: at } } };
}
