import { randomUUID } from "node:crypto";
import type { CommandMeta } from "../contract/generated/avro-types.js";
import { correlated } from "../contract/command-correlation.js";
import { TOPICS, type CommandContext } from "../contract/topics.js";
import { AvroEncodeError } from "../../infra/avro/avro-codec.js";
import type { Logger } from "../../infra/log/logger.js";
import type { GatewayMetrics } from "../../infra/metrics/service-metrics.js";
import type { RecordProducer } from "../../infra/kafka/record-producer.js";
import { replyChannel, type CommandOutcome } from "../processor/command-outcome.js";
import { rejection, ServiceError } from "../errors/error-codes.js";
import { parseMessage, type ChannelSource } from "./pubsub-hub.js";

/** A command sent without waiting for its outcome: its type (`quikchat.<context>.<type>`), Kafka key and value. */
export interface DispatchedCommand {
  readonly type: string;
  readonly key: string;
  readonly command: { meta: CommandMeta };
}

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
    private readonly replies: ChannelSource,
    private readonly nodeId: string,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
    private readonly options: { readonly timeoutMs?: number; readonly metrics?: Pick<GatewayMetrics, "commandReplySeconds"> } = {},
  ) {}

  /**
   * Follows this node's reply channel; resolves once subscribed. Outcomes published while the
   * subscription was down are lost: their commands time out, and a retry is answered from the
   * processor's dedupe window.
   */
  async start(): Promise<void> {
    const channel = replyChannel(this.nodeId);
    await this.replies.listen(channel, {
      onMessage: (message) => {
        const outcome = parseMessage<CommandOutcome>(message, channel, this.logger);
        if (outcome !== undefined) this.pending.get(outcome.commandId)?.(outcome);
      },
      onResync: () => undefined,
    });
  }

  /**
   * The metadata of a new command issued by `by`; `commandId` defaults to a fresh id. With
   * `expectReply: false` (commands sent with {@link dispatch}) nobody is named to answer.
   */
  meta(by: IssuedBy, commandId: string = randomUUID(), options: { readonly expectReply?: boolean } = {}): CommandMeta {
    return {
      commandId,
      correlationId: by.correlationId ?? commandId,
      actorId: by.userId,
      workspaceId: by.workspaceId,
      issuedAt: Date.now(),
      replyTo: options.expectReply === false ? null : this.nodeId,
    };
  }

  /**
   * Produces `command` without waiting for its outcome (signals: presence, typing); resolves
   * once Kafka has acknowledged it, rejects as {@link send} does when it could not be sent.
   */
  dispatch(context: CommandContext, type: string, key: string, command: { meta: CommandMeta }): Promise<void> {
    return this.dispatchAll(context, [{ type, key, command }]);
  }

  /** Several commands at once, in one produce, in order (per key, Kafka keeps it). */
  async dispatchAll(context: CommandContext, commands: readonly DispatchedCommand[]): Promise<void> {
    try {
      await this.producer.send(commands.map(({ type, key, command }) => this.record(context, type, key, command)));
    } catch (error) {
      throw sendFailure(error);
    }
  }

  private record(context: CommandContext, type: string, key: string, command: { meta: CommandMeta }) {
    return { topic: this.topicPrefix + TOPICS[context].commands, key, fullName: `quikchat.${context}.${type}`, value: correlated(context, key, command) };
  }

  /**
   * Sends `command` and resolves with the result of its acceptance; rejects with a
   * {@link ServiceError}: the processor's refusal, `timeout` or `unavailable`.
   */
  async request(context: CommandContext, type: string, key: string, command: { meta: CommandMeta }): Promise<Readonly<Record<string, unknown>>> {
    return acceptedResult(await this.send(context, type, key, command));
  }

  /** Produces `command` (a `quikchat.<context>.<type>` record) keyed by `key` and awaits its outcome. */
  async send(context: CommandContext, type: string, key: string, command: { meta: CommandMeta }): Promise<CommandOutcome> {
    const { commandId } = command.meta;
    let timer: NodeJS.Timeout | undefined;
    const outcome = new Promise<CommandOutcome>((resolve, reject) => {
      this.pending.set(commandId, resolve);
      timer = setTimeout(() => reject(new ServiceError("timeout", "the command was not answered in time")), this.options.timeoutMs ?? 10_000);
    });
    // The timeout may fire while the produce is still retrying (Kafka down): it is awaited after it, never unhandled.
    outcome.catch(() => undefined);
    const observe = this.options.metrics?.commandReplySeconds.startTimer({ context, type });
    try {
      await this.producer.send([this.record(context, type, key, command)]);
      const answer = await outcome;
      observe?.({ outcome: outcomeLabel(answer) });
      return answer;
    } catch (error) {
      const failure = sendFailure(error);
      observe?.({ outcome: failure.code });
      throw failure;
    } finally {
      clearTimeout(timer);
      this.pending.delete(commandId);
    }
  }
}

/**
 * The result of an accepted command; a rejected one throws its {@link rejection} (the
 * processor's code, `internal` for a command that could not be processed).
 */
export function acceptedResult(outcome: CommandOutcome): Readonly<Record<string, unknown>> {
  if (!outcome.ok) throw rejection(outcome.error);
  return outcome.result;
}

/** What a failed send becomes for the caller. */
function sendFailure(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  // A command that does not match its schema is a gateway bug, not a client's or Kafka's fault.
  if (error instanceof AvroEncodeError) return new ServiceError("internal", "the command could not be encoded", { cause: error });
  return new ServiceError("unavailable", "the command could not be sent", { cause: error });
}

/**
 * The `outcome` label of `quikchat_command_reply_seconds` for an answered command: `accepted`,
 * `internal` (it went to the dead-letter topic) or `rejected` (a domain error). Failures to get
 * an answer are labelled with their error code (`timeout`, `unavailable`, `internal`).
 */
export function outcomeLabel(outcome: CommandOutcome): "accepted" | "rejected" | "internal" {
  if (outcome.ok) return "accepted";
  return outcome.error.code === "internal" ? "internal" : "rejected";
}
