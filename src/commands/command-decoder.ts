import type Kafka from "node-rdkafka";
import type { CommandMeta } from "../contract/generated/avro-types.js";
import { loadSchemaCatalog } from "../contract/schema-catalog.js";
import { CONTEXT_SPECS, type CommandContext } from "../contract/topics.js";
import type { CommandEnvelope } from "../domain/decider.js";
import { AvroDecodeError, type AvroCodec } from "../infra/avro/avro-codec.js";
import type { DeadLetterReason } from "./dead-letter.js";
import { RetryBatchError } from "./processor-errors.js";

/** A consumed record: a command of the context, or a record bound for the dead-letter topic. */
export type DecodedRecord =
  | { readonly kind: "command"; readonly message: Kafka.Message; readonly command: CommandEnvelope; readonly aggregateId: string }
  | {
      readonly kind: "dead";
      readonly message: Kafka.Message;
      readonly reason: DeadLetterReason;
      readonly error: Error;
      /** The command metadata when the record had some, so that its sender still gets an answer. */
      readonly meta: CommandMeta | undefined;
    };

/**
 * Turns records of `quikapp.<context>.commands` into `{type, data}` command envelopes: the Avro
 * record `quikchat.<context>.<Type>` becomes `{type: "<Type>", data: <record>}`.
 *
 * A record is dead (never retried) when its bytes are not Avro this registry knows, when it is
 * not a command of the context, or when its key is not its aggregate id. A registry that cannot
 * be reached is no reason to dead-letter anything: `decode` throws a `RetryBatchError` instead.
 */
export class CommandDecoder {
  private readonly commandNames: ReadonlySet<string>;
  private readonly recordPrefix: string;

  constructor(
    private readonly codec: AvroCodec,
    private readonly context: CommandContext,
    private readonly aggregateIdOf: ((command: CommandEnvelope) => string) | undefined,
  ) {
    this.recordPrefix = `quikchat.${context}.`;
    this.commandNames = new Set(
      loadSchemaCatalog()
        .filter((record) => record.context === context && record.kind === "command")
        .map((record) => record.fullName),
    );
  }

  async decode(message: Kafka.Message): Promise<DecodedRecord> {
    const dead = (reason: DeadLetterReason, error: unknown, meta?: CommandMeta): DecodedRecord => ({
      kind: "dead",
      message,
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
    if (!this.commandNames.has(decoded.fullName)) {
      return dead("unknown_command", new Error(`${decoded.fullName} is not a ${this.context} command`), meta);
    }
    const command: CommandEnvelope = { type: decoded.fullName.slice(this.recordPrefix.length), data };
    let aggregateId: string;
    try {
      aggregateId = this.aggregateId(command);
    } catch (error) {
      return dead("decide_failed", error, meta);
    }
    const key = message.key === undefined || message.key === null ? null : message.key.toString();
    if (key !== aggregateId) {
      return dead("misrouted", new Error(`key ${JSON.stringify(key)} is not the aggregate id ${JSON.stringify(aggregateId)}`), meta);
    }
    return { kind: "command", message, command, aggregateId };
  }

  /** The Avro full name of an event of the context: `quikchat.<context>.<type>`. */
  eventName(type: string): string {
    return this.recordPrefix + type;
  }

  private aggregateId(command: CommandEnvelope): string {
    if (this.aggregateIdOf !== undefined) return this.aggregateIdOf(command);
    const field = CONTEXT_SPECS[this.context].keyField;
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
