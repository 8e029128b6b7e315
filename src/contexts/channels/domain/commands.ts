import type { ChannelsCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands about one channel: create and delete it, subscribe and unsubscribe users, publish,
 * drop its history. The aggregate is the channel; `channelId` is also the Kafka key.
 */
export type ChannelCommand = ChannelsCommand;
