/**
 * The Kafka topic catalog: every bounded context, the field its records are keyed by, and the
 * topics it owns. Topic names are part of the public contract (data teams read the event
 * topics directly), so they are derived from one rule and never spelled by hand elsewhere.
 * The contexts and their specs come from `schemas/<context>/context.json`, through the
 * generated types.
 */
import { CONTEXT_SPECS } from "./generated/avro-types.js";
import { topicName, type TopicKind } from "./topic-names.js";

export { topicName, type TopicKind };

/** Every bounded context: the folders of `schemas/` (each with its `context.json`), in name order. */
export const CONTEXTS = Object.freeze(Object.keys(CONTEXT_SPECS)) as readonly ContextName[];

export type ContextName = keyof typeof CONTEXT_SPECS;


export { CONTEXT_SPECS };

type UpstreamContext = {
  [C in ContextName]: (typeof CONTEXT_SPECS)[C]["upstream"] extends true ? C : never;
}[ContextName];

/** The context names that own commands (every context except the upstream ones). */
export type CommandContext = Exclude<ContextName, UpstreamContext>;

/** Topics of a context we own: `quikapp.<context>.<kind>` for every kind. */
export type OwnedTopics<C extends string> = {
  readonly [K in TopicKind]: `quikapp.${C}.${K}`;
};

/** Topics of an upstream context: its events topic, and ours for its records we could not consume. */
export interface UpstreamTopics<C extends string> {
  readonly events: `quikapp.${C}.events`;
  readonly dlq: `quikapp.${C}.dlq`;
}

/** The topic names of every context, typed so that `TOPICS.users.commands` does not compile. */
export type TopicCatalog = {
  readonly [C in ContextName]: C extends UpstreamContext ? UpstreamTopics<C> : OwnedTopics<C>;
};


function ownedTopics<C extends string>(context: C): OwnedTopics<C> {
  return {
    events: topicName(context, "events"),
    commands: topicName(context, "commands"),
    state: topicName(context, "state"),
    dlq: topicName(context, "dlq"),
  };
}

/**
 * Topic names per context, e.g. `TOPICS.messages.events === "quikapp.messages.events"`.
 * Owned contexts have `events`, `commands`, `state` (compacted changelog) and `dlq`; upstream
 * contexts (`users`) their `events` (the upstream service's) and our `dlq` of the records we
 * could not consume.
 */
export const TOPICS: TopicCatalog = Object.freeze(
  Object.fromEntries(CONTEXTS.map((context) => [context, CONTEXT_SPECS[context].upstream ? { events: topicName(context, "events"), dlq: topicName(context, "dlq") } : ownedTopics(context)])),
) as TopicCatalog;

/** One topic to create at bootstrap, with what decides its configuration. */
export interface TopicSpec {
  readonly name: string;
  readonly kind: TopicKind;
  readonly context: ContextName;
  /** Log compaction (`cleanup.policy=compact`): true for the `state` changelogs only. */
  readonly compacted: boolean;
  /** Short retention: every topic of an ephemeral context (see `ContextSpec.ephemeral`). */
  readonly ephemeral: boolean;
  /** Record field used as the message key (see `ContextSpec.keyField`). */
  readonly keyField: string;
}

const TOPIC_KINDS: readonly TopicKind[] = ["events", "commands", "state", "dlq"];

/** Kinds of topic that exist for a context: all four when owned, `events` and `dlq` when upstream. */
export function topicKindsOf(context: ContextName): readonly TopicKind[] {
  return CONTEXT_SPECS[context].upstream ? ["events", "dlq"] : TOPIC_KINDS;
}

/**
 * Every topic of every context, in {@link CONTEXTS} order then events, commands, state, dlq.
 * Includes the upstream `quikapp.users.events`, which bootstrap may create in local
 * environments where no upstream service does.
 */
export const ALL_TOPICS: readonly TopicSpec[] = Object.freeze(
  CONTEXTS.flatMap((context) =>
    topicKindsOf(context).map(
      (kind): TopicSpec => Object.freeze({
        name: topicName(context, kind),
        kind,
        context,
        compacted: kind === "state",
        ephemeral: CONTEXT_SPECS[context].ephemeral,
        keyField: CONTEXT_SPECS[context].keyField,
      }),
    ),
  ),
);

/** The spec of a topic by name, or undefined for a topic outside the catalog. */
export function topicSpec(name: string): TopicSpec | undefined {
  return ALL_TOPICS.find((spec) => spec.name === name);
}

/** Whether `name` is a context of the catalog. */
export function isContextName(name: string): name is ContextName {
  return (CONTEXTS as readonly string[]).includes(name);
}
