import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type {
  EventMeta,
  MessageDeleted,
  MessageEdited,
  MessageRead,
  MessageSent,
  ReactionAdded,
  ReactionRemoved,
} from "../../../../src/platform/contract/generated/avro-types.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import type { HistoryStore } from "../../../../src/contexts/conversations/projections/history/history-port.js";

/** A store under test, and how to simulate a crash that lost its latest checkpoint. */
export interface HistoryStoreUnderTest {
  readonly store: HistoryStore;
  /** Moves a partition's checkpoint back, as if the writes after it had landed but not it. */
  rewindCheckpoint(topic: string, partition: number, nextOffset: number): Promise<void>;
  /** Drops what the store created. */
  dispose(): Promise<void>;
}

const TOPIC = "quikapp.messages.events";
const at = (n: number) => 1_700_000_000_000 + n * 1_000;
const meta = (n: number, actorId = "alice"): EventMeta => ({
  eventId: `e-${n}`,
  occurredAt: at(n),
  correlationId: `c-${n}`,
  causationId: null,
  actorId,
  workspaceId: "w1",
});

/** Builds records of one conversation's partition, with consecutive offsets from `start`. */
function partitionLog(partition = 0, start = 0) {
  let offset = start;
  const record = <T extends { conversationId: string }>(shortName: string, value: T): ConsumedRecord => ({
    topic: TOPIC,
    partition,
    offset: offset++,
    key: value.conversationId,
    timestamp: at(offset),
    headers: {},
    fullName: `quikchat.messages.${shortName}`,
    value,
  });
  return {
    sent: (conversationId: string, seq: number, content = `m${seq}`, senderId = "alice"): ConsumedRecord =>
      record("MessageSent", {
        meta: meta(seq, senderId),
        conversationId,
        seq,
        messageId: `${conversationId}-m${seq}`,
        senderId,
        clientMsgId: `client-${seq}`,
        type: "text",
        content,
        attachments:
          seq === 1
            ? [{ attachmentId: "a1", url: "https://files/a1.png", mimeType: "image/png", sizeBytes: 1234, fileName: "a1.png", width: 10, height: 20, durationMs: null, thumbnailUrl: null }]
            : [],
        replyToMessageId: seq > 1 ? `${conversationId}-m1` : null,
        mentionedUserIds: [],
        metadata: {},
      } satisfies MessageSent),
    edited: (conversationId: string, seq: number, revision: number, content: string): ConsumedRecord =>
      record("MessageEdited", {
        meta: meta(100 + revision),
        conversationId,
        seq,
        messageId: `${conversationId}-m${seq}`,
        content,
        mentionedUserIds: [],
        revision,
      } satisfies MessageEdited),
    deleted: (conversationId: string, seq: number): ConsumedRecord =>
      record("MessageDeleted", { meta: meta(200, "bob"), conversationId, seq, messageId: `${conversationId}-m${seq}` } satisfies MessageDeleted),
    reaction: (kind: "added" | "removed", conversationId: string, seq: number, userId: string, emoji: string): ConsumedRecord =>
      record(kind === "added" ? "ReactionAdded" : "ReactionRemoved", {
        meta: meta(300, userId),
        conversationId,
        seq,
        messageId: `${conversationId}-m${seq}`,
        userId,
        emoji,
      } satisfies ReactionAdded | ReactionRemoved),
    read: (conversationId: string, seq: number, userId: string): ConsumedRecord =>
      record("MessageRead", { meta: meta(400, userId), conversationId, seq, userId, messageId: null } satisfies MessageRead),
  };
}

const seqs = (messages: readonly { seq: number }[]) => messages.map((message) => message.seq);

/**
 * The contract of {@link HistoryStore}: every adapter must pass it unchanged. Each `describe`
 * gets a fresh store from `makeStore`, with its own table/collection prefix.
 */
export function historyStoreContract(name: string, makeStore: () => Promise<HistoryStoreUnderTest>): void {
  describe(`${name} history store (contract)`, () => {
    let subject: HistoryStoreUnderTest;
    let store: HistoryStore;

    beforeAll(async () => {
      subject = await makeStore();
      store = subject.store;
      await store.ensureSchema();
      await store.ensureSchema();
    });
    afterAll(async () => {
      await subject.dispose();
      await store.close();
    });
    beforeEach(async () => {
      await store.clear();
    });

    it("stores sent messages as they were sent, in seq order", async () => {
      const log = partitionLog();
      const records = [log.sent("c1", 1, "hello"), log.sent("c1", 2, "world", "bob"), log.sent("c2", 1, "other")];
      expect(await store.apply(TOPIC, 0, records)).toEqual(records);
      expect(await store.lastSeq("c1")).toBe(2);
      expect(await store.lastSeq("c2")).toBe(1);
      expect(await store.lastSeq("nowhere")).toBe(0);
      const messages = await store.messages("c1", { limit: 10 });
      expect(messages).toEqual([
        {
          id: "c1-m1",
          conversationId: "c1",
          seq: 1,
          senderId: "alice",
          type: "text",
          content: "hello",
          attachments: [{ attachmentId: "a1", url: "https://files/a1.png", mimeType: "image/png", sizeBytes: 1234, fileName: "a1.png", width: 10, height: 20, durationMs: null, thumbnailUrl: null }],
          clientMsgId: "client-1",
          replyToMessageId: null,
          sentAt: at(1),
          editedAt: null,
          revision: 0,
          deletedAt: null,
          reactions: {},
        },
        expect.objectContaining({ id: "c1-m2", seq: 2, senderId: "bob", content: "world", replyToMessageId: "c1-m1", attachments: [] }),
      ]);
      expect(await store.messages("nowhere", { limit: 10 })).toEqual([]);
    });

    it("applies edits by revision, dropping an edit that is not newer", async () => {
      const log = partitionLog();
      await store.apply(TOPIC, 0, [log.sent("c1", 1, "first"), log.edited("c1", 1, 2, "second"), log.edited("c1", 1, 1, "stale"), log.edited("c1", 1, 2, "same revision")]);
      const [message] = await store.messages("c1", { limit: 1 });
      expect(message).toMatchObject({ content: "second", revision: 2, editedAt: at(102), deletedAt: null });
    });

    it("empties a deleted message and ignores later edits and reactions", async () => {
      const log = partitionLog();
      await store.apply(TOPIC, 0, [
        log.sent("c1", 1, "secret"),
        log.reaction("added", "c1", 1, "bob", "👍"),
        log.deleted("c1", 1),
        log.edited("c1", 1, 5, "resurrected"),
        log.reaction("added", "c1", 1, "carol", "🎉"),
      ]);
      const [message] = await store.messages("c1", { limit: 1 });
      expect(message).toMatchObject({ id: "c1-m1", content: "", attachments: [], reactions: {}, deletedAt: at(200), revision: 0 });
      expect(await store.lastSeq("c1")).toBe(1);
    });

    it("keeps reactions per emoji in the order users reacted", async () => {
      const log = partitionLog();
      await store.apply(TOPIC, 0, [
        log.sent("c1", 1),
        log.reaction("added", "c1", 1, "carol", "👍"),
        log.reaction("added", "c1", 1, "alice", "👍"),
        log.reaction("added", "c1", 1, "bob", ":party-parrot:"),
        log.reaction("added", "c1", 1, "bob", "👍"),
        log.reaction("added", "c1", 1, "bob", "👍🏽"),
        log.reaction("removed", "c1", 1, "alice", "👍"),
        log.reaction("removed", "c1", 1, "bob", ":party-parrot:"),
        log.reaction("removed", "c1", 1, "nobody", "🎉"),
        log.read("c1", 1, "bob"),
      ]);
      const [message] = await store.messages("c1", { limit: 1 });
      expect(message?.reactions).toEqual({ "👍": ["carol", "bob"], "👍🏽": ["bob"] });
    });

    describe("ranges", () => {
      beforeEach(async () => {
        const log = partitionLog();
        await store.apply(TOPIC, 0, Array.from({ length: 10 }, (_, index) => log.sent("c1", index + 1)));
      });

      it("returns the oldest messages after a seq, ascending", async () => {
        expect(seqs(await store.messages("c1", { limit: 3 }))).toEqual([1, 2, 3]);
        expect(seqs(await store.messages("c1", { afterSeq: 7, limit: 10 }))).toEqual([8, 9, 10]);
        expect(seqs(await store.messages("c1", { afterSeq: 2, limit: 2 }))).toEqual([3, 4]);
        expect(seqs(await store.messages("c1", { afterSeq: 10, limit: 5 }))).toEqual([]);
      });

      it("returns messages between two seqs", async () => {
        expect(seqs(await store.messages("c1", { afterSeq: 3, beforeSeq: 7, limit: 100 }))).toEqual([4, 5, 6]);
        expect(seqs(await store.messages("c1", { beforeSeq: 4, limit: 2 }))).toEqual([1, 2]);
        expect(seqs(await store.messages("c1", { beforeSeq: 4, limit: 2, from: "oldest" }))).toEqual([1, 2]);
      });

      it("pages backwards from the newest, still ascending", async () => {
        expect(seqs(await store.messages("c1", { beforeSeq: 8, limit: 3, from: "newest" }))).toEqual([5, 6, 7]);
        expect(seqs(await store.messages("c1", { limit: 2, from: "newest" }))).toEqual([9, 10]);
        expect(seqs(await store.messages("c1", { beforeSeq: 3, limit: 5, from: "newest" }))).toEqual([1, 2]);
      });

      it("never returns more than the limit", async () => {
        expect(await store.messages("c1", { limit: 1 })).toHaveLength(1);
        expect(await store.messages("c1", { limit: 1000 })).toHaveLength(10);
      });
    });

    describe("checkpoints and replay", () => {
      const history = () => Promise.all([store.messages("c1", { limit: 100 }), store.messages("c2", { limit: 100 })]);
      const mixedLog = () => {
        const log = partitionLog(3, 40);
        return [
          log.sent("c1", 1, "one"),
          log.sent("c1", 2, "two"),
          log.reaction("added", "c1", 1, "bob", "👍"),
          log.edited("c1", 2, 1, "two, edited"),
          log.reaction("added", "c1", 1, "carol", "👍"),
          log.reaction("removed", "c1", 1, "bob", "👍"),
          log.reaction("added", "c1", 1, "bob", "👍"),
          log.sent("c2", 1, "elsewhere"),
          log.edited("c1", 2, 2, "two, edited again"),
          log.deleted("c2", 1),
          log.sent("c1", 3, "three"),
        ];
      };

      it("keeps one checkpoint per partition: the offset after the last applied record", async () => {
        expect(await store.checkpoints(TOPIC)).toEqual(new Map());
        await store.apply(TOPIC, 0, [partitionLog(0, 0).sent("c1", 1)]);
        const log = partitionLog(5, 17);
        await store.apply(TOPIC, 5, [log.sent("c2", 1), log.sent("c2", 2)]);
        expect(await store.checkpoints(TOPIC)).toEqual(new Map([[0, 1], [5, 19]]));
        expect(await store.checkpoints("another.topic")).toEqual(new Map());
      });

      it("skips records below the checkpoint: replaying a batch changes nothing", async () => {
        const records = mixedLog();
        await store.apply(TOPIC, 3, records);
        const once = await history();
        expect(once[0].map((m) => m.content)).toEqual(["one", "two, edited again", "three"]);
        expect(once[0][0]?.reactions).toEqual({ "👍": ["carol", "bob"] });
        expect(once[1][0]).toMatchObject({ content: "", deletedAt: at(200) });

        expect(await store.apply(TOPIC, 3, records)).toEqual([]);
        expect(await store.apply(TOPIC, 3, records.slice(2, 5))).toEqual([]);
        expect(await history()).toEqual(once);
        expect(await store.checkpoints(TOPIC)).toEqual(new Map([[3, 51]]));
      });

      it("applies only the records at or above the checkpoint of an overlapping batch", async () => {
        const records = mixedLog();
        await store.apply(TOPIC, 3, records.slice(0, 6));
        expect(await store.apply(TOPIC, 3, records.slice(3))).toEqual(records.slice(6));
        const split = await history();
        await store.clear();
        await store.apply(TOPIC, 3, records);
        expect(split).toEqual(await history());
      });

      it("ends in the same state when records at or above a lost checkpoint are applied again", async () => {
        const records = mixedLog();
        await store.apply(TOPIC, 3, records);
        const once = await history();
        for (const rewindTo of [46, 40]) {
          await subject.rewindCheckpoint(TOPIC, 3, rewindTo);
          const again = records.filter((record) => record.offset >= rewindTo);
          expect(await store.apply(TOPIC, 3, again)).toEqual(again);
          expect(await history()).toEqual(once);
          expect(await store.checkpoints(TOPIC)).toEqual(new Map([[3, 51]]));
        }
      });

      it("clear() empties history and checkpoints, and a replay rebuilds the same history", async () => {
        const records = mixedLog();
        await store.apply(TOPIC, 3, records);
        const once = await history();
        await store.clear();
        expect(await store.checkpoints(TOPIC)).toEqual(new Map());
        expect(await store.lastSeq("c1")).toBe(0);
        expect(await store.messages("c1", { limit: 10 })).toEqual([]);
        expect(await store.apply(TOPIC, 3, records)).toEqual(records);
        expect(await history()).toEqual(once);
      });
    });
  });
}
