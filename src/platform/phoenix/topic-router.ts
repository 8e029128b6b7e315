import type { ChannelFamily } from "./channel.js";

/** Finds the channel family serving a topic. */
export type TopicRouter = (topic: string) => ChannelFamily | undefined;

/**
 * A family whose prefix ends with `:` serves every topic starting with it; any other prefix is a
 * whole topic (`webrtc:lobby`) and serves that topic only. An exact match wins, then the longest
 * prefix. Throws when two families claim the same prefix: a configuration error, found at startup.
 */
export function createTopicRouter(families: readonly ChannelFamily[]): TopicRouter {
  const exact = new Map<string, ChannelFamily>();
  const prefixed: ChannelFamily[] = [];
  for (const family of families) {
    if (exact.has(family.prefix) || prefixed.some((other) => other.prefix === family.prefix)) {
      throw new Error(`two channel families claim the topic prefix "${family.prefix}"`);
    }
    if (family.prefix.endsWith(":")) prefixed.push(family);
    else exact.set(family.prefix, family);
  }
  prefixed.sort((a, b) => b.prefix.length - a.prefix.length);
  return (topic) => exact.get(topic) ?? prefixed.find((family) => topic.startsWith(family.prefix));
}
