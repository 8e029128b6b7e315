import type { CallsCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands of one call: initiate, answer, join, reject, end, leave, invite more, start and stop
 * recording, and the timers' expiries (ringing, maximum duration). The aggregate is the call;
 * `callId` is also the Kafka key.
 */
export type CallCommand = CallsCommand;
