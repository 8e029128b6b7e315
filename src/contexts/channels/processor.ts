import type { ChannelsCommand, ChannelsEvent } from "../../platform/contract/generated/avro-types.js";
import type { ProcessorDefinition } from "../../platform/processor/processor-definition.js";
import { channelDecider } from "./domain/decide.js";
import type { ChannelState } from "./domain/state.js";

/**
 * The channel processor: one aggregate per channel over `quikapp.channels.commands` (key:
 * channelId), its changelog `quikapp.channels.state`.
 *
 * Accepted commands answer `{channelId}`, a publication `{channelId, seq, publishedAt}` (a
 * retried publish, same commandId, gets the first answer from the dedupe window: that is how an
 * `idempotency_key` publishes once).
 */
export const channelProcessor: ProcessorDefinition<"channels", ChannelState> = {
  contexts: ["channels"],
  decider: channelDecider,
  result: resultOf,
};

function resultOf(events: readonly ChannelsEvent[], _state: ChannelState, command: ChannelsCommand): Record<string, unknown> {
  const published = events.find((event) => event.type === "ChannelPublished");
  if (published !== undefined) return { channelId: command.data.channelId, seq: published.data.seq, publishedAt: published.data.meta.occurredAt };
  return { channelId: command.data.channelId };
}
