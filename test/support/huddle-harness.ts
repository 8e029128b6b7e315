import { randomUUID } from "node:crypto";
import type { Config } from "../../src/contexts/index.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import type { RecordProducer, OutgoingRecord } from "../../src/infra/kafka/record-producer.js";
import type { CommandMeta, HuddleLeaveReason, HuddlesCommand } from "../../src/platform/contract/generated/avro-types.js";
import type { CommandOutcome } from "../../src/platform/processor/command-outcome.js";
import { commandIdOf, readTopic, type ReadRecord, type ReplyListener } from "./processor-harness.js";

/** Builds huddle commands of workspace w1 as a gateway would, answered on `replies`, and sends them (methods that may be destructured). */
export class HuddleCommands {
  constructor(
    private readonly topic: string,
    private readonly producer: () => RecordProducer,
    private readonly replies: ReplyListener,
  ) {}

  readonly command = (actorId: string, huddleId: string, type: HuddlesCommand["type"], fields: Record<string, unknown> = {}): OutgoingRecord => {
    const meta: CommandMeta = { commandId: randomUUID(), correlationId: randomUUID(), actorId, workspaceId: "w1", issuedAt: Date.now(), replyTo: this.replies.nodeId };
    return { topic: this.topic, key: huddleId, fullName: `quikchat.huddles.${type}`, value: { meta, huddleId, ...fields } };
  };

  /** Creates it with its creator in it from `<actorId>-c1`; standalone unless `conversationId`. */
  readonly create = (actorId: string, huddleId: string, inviteeIds: string[], conversationId: string | null = null): OutgoingRecord =>
    this.command(actorId, huddleId, "CreateHuddle", { conversationId, title: "standup", inviteeIds, connectionId: `${actorId}-c1`, muted: false, videoEnabled: false });

  /** Joins it muted, from `connectionId`. */
  readonly join = (actorId: string, huddleId: string, connectionId = `${actorId}-c1`, memberOfConversation = false): OutgoingRecord =>
    this.command(actorId, huddleId, "JoinHuddle", { muted: true, videoEnabled: false, connectionId, memberOfConversation });

  readonly leave = (actorId: string, huddleId: string, fields: { userId?: string; connectionId?: string; reason?: HuddleLeaveReason } = {}): OutgoingRecord =>
    this.command(actorId, huddleId, "LeaveHuddle", { userId: fields.userId ?? null, connectionId: fields.connectionId ?? null, reason: fields.reason ?? "left" });

  /** Sends `record` and returns its outcome. */
  readonly send = async (record: OutgoingRecord): Promise<CommandOutcome | undefined> => {
    await this.producer().send([record]);
    return (await this.replies.of(commandIdOf(record)))[0];
  };
}

/** The events of one huddle committed on `topic`, in offset order. */
export async function huddleEvents(config: Config, topic: string, codec: AvroCodec, huddleId: string): Promise<ReadRecord[]> {
  return (await readTopic(config, topic, codec)).filter((record) => record.key === huddleId).sort((a, b) => a.offset - b.offset);
}

/** The record name of a record read back, without its namespace. */
export const typeOf = (record: ReadRecord): string => record.fullName?.split(".").pop() ?? "?";
