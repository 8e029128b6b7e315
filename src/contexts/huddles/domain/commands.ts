import type { HuddlesCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands of one huddle: create, join, leave, invite, end, the participant's toggles (audio,
 * video, screen share, hand), and the empty timer's expiry. The aggregate is the huddle;
 * `huddleId` is also the Kafka key.
 */
export type HuddleCommand = HuddlesCommand;
