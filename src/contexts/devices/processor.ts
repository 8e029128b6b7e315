import type { DevicesCommand, DevicesEvent } from "../../platform/contract/generated/avro-types.js";
import type { ProcessorDefinition } from "../../platform/processor/processor-definition.js";
import { devicesDecider } from "./domain/decide.js";
import { deviceOf, type DevicesState } from "./domain/state.js";

/**
 * The devices processor: one aggregate per user over `quikapp.devices.commands` (key: userId),
 * its changelog `quikapp.devices.state`, its events on `quikapp.devices.events`.
 *
 * Accepted commands answer `{userId, deviceId, device, removed}`: the device as it is after the
 * command (null once unregistered) and the user's devices the command unregistered, each
 * `{deviceId, reason}` (an eviction, a token moved to this device, the device itself).
 */
export function devicesProcessor(): ProcessorDefinition<"devices", DevicesState> {
  return {
    contexts: ["devices"],
    decider: devicesDecider,
    result: devicesResult,
    // Heartbeats come every few minutes per device; retries within seconds.
    dedupe: { maxEntries: 64, maxAgeMs: 60 * 60_000 },
  };
}

function devicesResult(events: readonly DevicesEvent[], state: DevicesState, command: DevicesCommand): Record<string, unknown> {
  const { userId, deviceId } = command.data;
  const removed = events.flatMap((event) => (event.type === "DeviceUnregistered" ? [{ deviceId: event.data.deviceId, reason: event.data.reason }] : []));
  return { userId, deviceId, device: deviceOf(state, deviceId) ?? null, removed };
}
