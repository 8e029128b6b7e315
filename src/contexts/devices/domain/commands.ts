import type { DevicesCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands of one user's devices: register (or refresh), update the push tokens, unregister,
 * heartbeat. The aggregate is the user; `userId` is also the Kafka key.
 */
export type DeviceCommand = DevicesCommand;
