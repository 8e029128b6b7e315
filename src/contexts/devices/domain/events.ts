import type { DevicesEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about a user's devices: registered (or refreshed), tokens updated, unregistered, seen alive. */
export type DeviceEvent = DevicesEvent;

/** A device event as `decide` returns it (the runtime fills `meta`). */
export type DecidedDeviceEvent = DecidedEvent<DeviceEvent>;
