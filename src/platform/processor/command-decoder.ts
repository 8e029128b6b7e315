import type Kafka from "node-rdkafka";
import type { CommandMeta } from "../contract/generated/avro-types.js";
import { loadSchemaCatalog } from "../contract/schema-catalog.js";
import { CONTEXT_SPECS, type CommandContext } from "../contract/topics.js";
import type { CommandEnvelope } from "../domain/decider.js";
import { AvroDecodeError, type AvroCodec } from "../../infra/avro/avro-codec.js";
import type { DeadLetterReason } from "./dead-letter.js";
import { RetryBatchError } from "./processor-errors.js";

/** A consumed record: a command of one of the consumed contexts, or a record bound for the dead-letter topic. */
export type DecodedRecord =
  | {
      readonly kind: "command";
      readonly message: Kafka.Message;
      /** The context whose commands topic the record came from. */
      readonly context: CommandContext;
      readonly command: CommandEnvelope;
      readonly aggregateId: string;
    }
  | {
      readonly kind: "dead";
      readonly message: Kafka.Message;
      /** The context whose commands topic the record came from: its DLQ receives it. */
      readonly context: CommandContext;
      readonly reason: DeadLetterReason;
      readonly error: Error;
      /** The command metadata when the record had some, so that its sender still gets an answer. */
      readonly meta: CommandMeta | undefined;
    };

/** Where an event of a given type is written: the record name and the context that declares it. */
export interface EventRoute {
  readonly fullName: string;
  readonly context: CommandContext;
}

/**
 * Turns records of the consumed `quikapp.<context>.commands` topics into `{type, data}` command
 * envelopes: the Avro record `quikchat.<context>.<Type>` becomes `{type: "<Type>", data: <record>}`,
 * and names the event types of those contexts.
 *
 * A record is dead (never retried) when its bytes are not Avro this registry knows, when it is
 * not a command of the context of the topic it was read from, or when its key is not its
 * aggregate id. A registry that cannot be reached is no reason to dead-letter anything: `decode`
 * throws a `RetryBatchError` instead.
 */
export class CommandDecoder {
  /** The command record names of each context. */
  private readonly commandNames: ReadonlyMap<CommandContext, ReadonlySet<string>>;
  private readonly events: ReadonlyMap<string, EventRoute>;

  /**
   * @param sources the context of each consumed commands topic (full topic name, prefix included)
   * @throws when two of the contexts declare an event of the same name (events are routed by type)
   */
  constructor(
    private readonly codec: AvroCodec,
    private readonly sources: ReadonlyMap<string, CommandContext>,
    private readonly aggregateIdOf: ((command: CommandEnvelope) => string) | undefined,
  ) {
    const contexts = new Set(sources.values());
    const catalog = loadSchemaCatalog().filter((record) => (contexts as ReadonlySet<string>).has(record.context));
    this.commandNames = new Map(
      [...contexts].map((context) => [
        context,
        new Set(catalog.filter((record) => record.context === context && record.kind === "command").map((record) => record.fullName)),
      ]),
    );
    const events = new Map<string, EventRoute>();
    for (const record of catalog.filter((entry) => entry.kind === "event")) {
      const taken = events.get(record.name);
      if (taken !== undefined) throw new Error(`${record.fullName} and ${taken.fullName} share a type name: events are routed by type`);
      events.set(record.name, { fullName: record.fullName, context: record.context as CommandContext });
    }
    this.events = events;
  }

  async decode(message: Kafka.Message): Promise<DecodedRecord> {
    const context = this.sources.get(message.topic);
    if (context === undefined) throw new Error(`${message.topic} is not a consumed commands topic`);
    const dead = (reason: DeadLetterReason, error: unknown, meta?: CommandMeta): DecodedRecord => ({
      kind: "dead",
      message,
      context,
      reason,
      error: error instanceof Error ? error : new Error(String(error)),
      meta,
    });
    let decoded;
    try {
      decoded = await this.codec.decode(message.value);
    } catch (error) {
      if (isRegistryOutage(error)) throw new RetryBatchError("schema registry unavailable", { cause: error });
      return dead("undecodable", error);
    }
    const data = decoded.value as CommandEnvelope["data"];
    const meta = metaOf(data);
    if (this.commandNames.get(context)?.has(decoded.fullName) !== true) {
      return dead("unknown_command", new Error(`${decoded.fullName} is not a ${context} command`), meta);
    }
    const command: CommandEnvelope = { type: decoded.fullName.slice(`quikchat.${context}.`.length), data };
    let aggregateId: string;
    try {
      aggregateId = this.aggregateId(context, command);
    } catch (error) {
      return dead("decide_failed", error, meta);
    }
    const key = message.key === undefined || message.key === null ? null : message.key.toString();
    if (key !== aggregateId) {
      return dead("misrouted", new Error(`key ${JSON.stringify(key)} is not the aggregate id ${JSON.stringify(aggregateId)}`), meta);
    }
    return { kind: "command", message, context, command, aggregateId };
  }

  /** Where an event of `type` goes; throws for a type no consumed context declares. */
  eventRoute(type: string): EventRoute {
    const route = this.events.get(type);
    if (route === undefined) throw new Error(`${type} is not an event of ${[...this.commandNames.keys()].join(" or ")}`);
    return route;
  }

  private aggregateId(context: CommandContext, command: CommandEnvelope): string {
    if (this.aggregateIdOf !== undefined) return this.aggregateIdOf(command);
    const field = CONTEXT_SPECS[context].keyField;
    const id = (command.data as unknown as Record<string, unknown>)[field];
    if (typeof id !== "string") throw new Error(`${command.type} has no ${field}`);
    return id;
  }
}

/** The registry could not be reached (as opposed to not knowing the schema id: HTTP 404). */
function isRegistryOutage(error: unknown): boolean {
  if (!(error instanceof AvroDecodeError) || !error.message.startsWith("unknown schema id")) return false;
  return (error.cause as { status?: unknown } | undefined)?.status !== 404;
}

function metaOf(value: unknown): CommandMeta | undefined {
  const meta = (value as { meta?: Partial<CommandMeta> } | null)?.meta;
  if (typeof meta?.commandId !== "string" || (meta.replyTo !== null && typeof meta.replyTo !== "string")) return undefined;
  return meta as CommandMeta;
}
