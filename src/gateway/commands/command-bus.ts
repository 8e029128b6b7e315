import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { CommandMeta } from "../../contract/generated/avro-types.js";
import { TOPICS, type CommandContext } from "../../contract/topics.js";
import { AvroEncodeError } from "../../infra/avro/avro-codec.js";
import type { Logger } from "../../infra/log/logger.js";
import type { RecordProducer } from "../../infra/kafka/record-producer.js";
import { replyChannel, type CommandOutcome } from "../../commands/command-outcome.js";
import { ServiceError } from "../errors/error-codes.js";

export interface IssuedBy {
  readonly userId: string;
  readonly workspaceId: string;
  readonly correlationId?: string;
}

/**
 * Sends commands from this gateway node and resolves with their outcomes. A command is
 * registered before it is produced, so a fast outcome is never missed; one with no outcome
 * within the timeout rejects with `timeout` — the command may still be decided later, and a
 * client retry with the same commandId gets that decision instead of a second one.
 */
export class CommandBus {
  private readonly pending = new Map<string, (outcome: CommandOutcome) => void>();

  constructor(
    private readonly producer: RecordProducer,
    private readonly subscriber: Redis,
    private readonly nodeId: string,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Subscribes to this node's reply channel; `subscriber` must be a connection of its own. */
  async start(): Promise<void> {
    const channel = replyChannel(this.nodeId);
    this.subscriber.on("message", (from, message) => {
      if (from !== channel) return;
      try {
        const outcome = JSON.parse(message) as CommandOutcome;
        this.pending.get(outcome.commandId)?.(outcome);
      } catch (error) {
        this.logger.warn({ err: error }, "ignoring a malformed command outcome");
      }
    });
    await this.subscriber.subscribe(channel);
  }

  /** The metadata of a new command issued by `by`; `commandId` defaults to a fresh id. */
  meta(by: IssuedBy, commandId: string = randomUUID()): CommandMeta {
    return {
      commandId,
      correlationId: by.correlationId ?? commandId,
      actorId: by.userId,
      workspaceId: by.workspaceId,
      issuedAt: Date.now(),
      replyTo: this.nodeId,
    };
  }

  /** Produces `command` (a `quikchat.<context>.<type>` record) keyed by `key` and awaits its outcome. */
  async send(context: CommandContext, type: string, key: string, command: { meta: CommandMeta }): Promise<CommandOutcome> {
    const { commandId } = command.meta;
    let timer: NodeJS.Timeout | undefined;
    const outcome = new Promise<CommandOutcome>((resolve, reject) => {
      this.pending.set(commandId, resolve);
      timer = setTimeout(() => reject(new ServiceError("timeout", "the command was not answered in time")), this.timeoutMs);
    });
    try {
      await this.producer.send([
        { topic: this.topicPrefix + TOPICS[context].commands, key, fullName: `quikchat.${context}.${type}`, value: command },
      ]);
      return await outcome;
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      // A command that does not match its schema is a gateway bug, not a client's or Kafka's fault.
      if (error instanceof AvroEncodeError) throw new ServiceError("internal", "the command could not be encoded", { cause: error });
      throw new ServiceError("unavailable", "the command could not be sent", { cause: error });
    } finally {
      clearTimeout(timer);
      this.pending.delete(commandId);
    }
  }
}
