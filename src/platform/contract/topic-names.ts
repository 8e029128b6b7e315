/** What a topic carries; also the last segment of its name. */
export type TopicKind = "events" | "commands" | "state" | "dlq";

/**
 * Name of the topic of `kind` in `context`: `quikapp.<context>.<kind>`. The one rule topic names
 * follow (data teams read the event topics directly, so they are never spelled by hand).
 */
export function topicName<C extends string, K extends TopicKind>(context: C, kind: K): `quikapp.${C}.${K}` {
  return `quikapp.${context}.${kind}`;
}
