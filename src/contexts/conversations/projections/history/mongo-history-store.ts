import type { AnyBulkWriteOperation, Collection, Db } from "mongodb";
import type { Attachment, MessageType } from "../../../../platform/contract/generated/avro-types.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { MongoCheckpoints } from "../../../../infra/mongo/mongo-checkpoints.js";
import { groupReactions, HISTORY_PROJECTION, historyChanges, type HistoryChange } from "./history-changes.js";
import type { HistoryMessage, HistoryRange, HistoryStore } from "./history-port.js";
import { normalizeRange } from "./history-range.js";

interface MessageDocument {
  /** `<conversationId>:<seq>` */
  _id: string;
  conversationId: string;
  seq: number;
  messageId: string;
  senderId: string;
  type: MessageType;
  content: string;
  attachments: Attachment[];
  clientMsgId: string | null;
  replyToMessageId: string | null;
  sentAt: number;
  editedAt: number | null;
  revision: number;
  deletedAt: number | null;
  /** In the order the users reacted; emoji stay values, never field names (they may hold `.` or `$`). */
  reactions: { emoji: string; userId: string }[];
  /** Offset of the last event applied to this message. */
  version: number;
}

const messageKey = (conversationId: string, seq: number): string => `${conversationId}:${seq}`;

/**
 * History in MongoDB: collection `<prefix>messages` (one document per message, `_id`
 * `<conversationId>:<seq>`, message id unique) and the projection's checkpoints in
 * `<prefix>projection_checkpoints` (`{_id: "history:<topic>:<partition>", nextOffset}`).
 *
 * Atomicity without multi-document transactions (the local mongo-java-server has none) is a
 * transaction-free idempotent write by version (DESIGN §7):
 * - every change touches exactly one message document, in one update, which MongoDB applies
 *   atomically;
 * - each document carries `version`, the offset of the last event applied to it. All events of a
 *   conversation share one partition, so offsets grow along a message's life, and every update
 *   is conditioned on `version < offset` (edits also on `revision < revision`, and nothing but a
 *   send touches a deleted message). A send is an upsert with `$setOnInsert`. So applying an
 *   event a second time matches nothing and changes nothing;
 * - the checkpoint advances with `$max` only after the batch's writes were acknowledged.
 *
 * A crash between the writes and the checkpoint leaves the checkpoint behind the writes. On
 * restart the records below the checkpoint are skipped; those at or above it are applied again,
 * and by the version guard each write either already took effect (no-op) or takes effect now, in
 * offset order. History therefore ends as if every record had been applied exactly once. The
 * checkpoint never gets ahead of the writes, and `$max` keeps a slow, superseded consumer from
 * moving it back. The client is the caller's: `close` leaves it open.
 */
export class MongoHistoryStore implements HistoryStore {
  private readonly messageCollection: Collection<MessageDocument>;
  private readonly checkpointStore: MongoCheckpoints;

  constructor(db: Db, collectionPrefix = "") {
    this.messageCollection = db.collection<MessageDocument>(`${collectionPrefix}messages`);
    this.checkpointStore = new MongoCheckpoints(db, collectionPrefix, HISTORY_PROJECTION);
  }

  async ensureSchema(): Promise<void> {
    await this.messageCollection.createIndex({ messageId: 1 }, { unique: true, name: "by_message_id" });
    await this.messageCollection.createIndex({ conversationId: 1, seq: 1 }, { unique: true, name: "by_conversation_seq" });
    await this.checkpointStore.ensureSchema();
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointStore.of(topic);
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return this.checkpointStore.applyFresh(topic, partition, records, async (fresh) => {
      const operations = fresh.flatMap((record) => historyChanges(record)).map((change) => this.operation(change));
      // Ordered: a later change to a message must not overtake an earlier one.
      if (operations.length > 0) await this.messageCollection.bulkWrite(operations, { ordered: true });
    });
  }

  private operation(change: HistoryChange): AnyBulkWriteOperation<MessageDocument> {
    if (change.kind === "message_sent") {
      const m = change.message;
      const document: MessageDocument = {
        _id: messageKey(m.conversationId, m.seq),
        conversationId: m.conversationId,
        seq: m.seq,
        messageId: m.id,
        senderId: m.senderId,
        type: m.type,
        content: m.content,
        attachments: [...m.attachments],
        clientMsgId: m.clientMsgId,
        replyToMessageId: m.replyToMessageId,
        sentAt: m.sentAt,
        editedAt: null,
        revision: 0,
        deletedAt: null,
        reactions: [],
        version: change.version,
      };
      const { _id, ...fields } = document;
      return { updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } };
    }
    const filter = { _id: messageKey(change.conversationId, change.seq), version: { $lt: change.version }, deletedAt: null };
    const version = change.version;
    switch (change.kind) {
      case "message_edited":
        return {
          updateOne: {
            filter: { ...filter, revision: { $lt: change.revision } },
            update: { $set: { content: change.content, revision: change.revision, editedAt: change.editedAt, version } },
          },
        };
      case "message_deleted":
        return { updateOne: { filter, update: { $set: { content: "", attachments: [], reactions: [], deletedAt: change.deletedAt, version } } } };
      case "reaction_added":
        return {
          updateOne: { filter, update: { $addToSet: { reactions: { emoji: change.emoji, userId: change.userId } }, $set: { version } } },
        };
      case "reaction_removed":
        return { updateOne: { filter, update: { $pull: { reactions: { emoji: change.emoji, userId: change.userId } }, $set: { version } } } };
      default: {
        const unknown: never = change;
        throw new Error(`unknown history change ${JSON.stringify(unknown)}`);
      }
    }
  }

  async messages(conversationId: string, range: HistoryRange): Promise<HistoryMessage[]> {
    const { afterSeq, beforeSeq, limit, newestFirst } = normalizeRange(range);
    const seq: { $gt?: number; $lt?: number } = {};
    if (afterSeq !== undefined) seq.$gt = afterSeq;
    if (beforeSeq !== undefined) seq.$lt = beforeSeq;
    const filter = Object.keys(seq).length > 0 ? { conversationId, seq } : { conversationId };
    const documents = await this.messageCollection
      .find(filter)
      .sort({ seq: newestFirst ? -1 : 1 })
      .limit(limit)
      .toArray();
    if (newestFirst) documents.reverse();
    return documents.map((document) => ({
      id: document.messageId,
      conversationId: document.conversationId,
      seq: document.seq,
      senderId: document.senderId,
      type: document.type,
      content: document.content,
      attachments: document.attachments,
      clientMsgId: document.clientMsgId,
      replyToMessageId: document.replyToMessageId,
      sentAt: document.sentAt,
      editedAt: document.editedAt,
      revision: document.revision,
      deletedAt: document.deletedAt,
      reactions: groupReactions(document.reactions),
    }));
  }

  async lastSeq(conversationId: string): Promise<number> {
    const [last] = await this.messageCollection.find({ conversationId }).sort({ seq: -1 }).limit(1).project<{ seq: number }>({ seq: 1 }).toArray();
    return last?.seq ?? 0;
  }

  async clear(): Promise<void> {
    // Checkpoints first: should the second delete fail, replay from the start repairs history,
    // whereas checkpoints without history would never be refilled.
    await this.checkpointStore.clear();
    await this.messageCollection.deleteMany({});
  }

  async close(): Promise<void> {
    // The client is shared with other adapters and closed by the composition root.
  }
}
