import { TOPICS, type CommandContext } from "../contract/topics.js";

/** The topics of one consumed context (prefix included). */
export interface ContextTopics {
  readonly commands: string;
  readonly events: string;
  readonly dlq: string;
}

/** The topics a processor reads and writes, prefix included. */
export class ProcessorTopics {
  /** The context owning the changelog, the consumer group and the transactional id: `contexts[0]`. */
  readonly owner: CommandContext;
  /** The consumed contexts, each once, in the definition's order. */
  readonly contexts: readonly CommandContext[];
  /** The commands topic of every consumed context, in the definition's order. */
  readonly commands: readonly string[];
  /** The owner's changelog, `quikapp.<owner>.state`. */
  readonly state: string;
  private readonly byContext: ReadonlyMap<CommandContext, ContextTopics>;

  /** `contexts[0]` owns the changelog; the others add their commands, events and dead-letter topics. */
  constructor(contexts: readonly [CommandContext, ...CommandContext[]], prefix: string) {
    this.owner = contexts[0];
    this.byContext = new Map(
      [...new Set(contexts)].map((context) => {
        const topics = TOPICS[context];
        return [context, { commands: prefix + topics.commands, events: prefix + topics.events, dlq: prefix + topics.dlq }];
      }),
    );
    this.contexts = [...this.byContext.keys()];
    this.commands = [...this.byContext.values()].map((topics) => topics.commands);
    this.state = prefix + TOPICS[this.owner].state;
  }

  /** @throws when `context` is not consumed by this processor */
  of(context: CommandContext): ContextTopics {
    const topics = this.byContext.get(context);
    if (topics === undefined) throw new Error(`${context} is not a context of this processor`);
    return topics;
  }
}
