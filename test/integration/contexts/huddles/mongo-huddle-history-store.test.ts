import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoHuddleHistoryStore } from "../../../../src/contexts/huddles/projections/history/mongo-huddle-history-store.js";
import { involves } from "../../../../src/contexts/huddles/projections/history/huddle-history-port.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import { tablePrefixOf } from "../../../../src/infra/mysql/mysql-pool.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";

const config = testConfig();
const prefix = tablePrefixOf(uniquePrefix("huddle-history"));
const TOPIC = "quikapp.huddles.events";
const T0 = 1_700_000_000_000;

/** Records of one partition, at consecutive offsets from 0. */
type Event = readonly [type: string, at: number, data: { readonly huddleId: string; readonly workspaceId?: string } & Record<string, unknown>];
function partitionOf(...events: Event[]): ConsumedRecord[] {
  return events.map(([type, at, data], offset) => {
    const { workspaceId = "w1", ...fields } = data;
    const meta: EventMeta = { eventId: `e-${offset}`, occurredAt: at, correlationId: "c", causationId: null, actorId: "a", workspaceId };
    return { topic: TOPIC, partition: 0, offset, key: fields.huddleId, timestamp: at, headers: {}, fullName: `quikchat.huddles.${type}`, value: { meta, ...fields } };
  });
}
const joined = (at: number, huddleId: string, userId: string, connectionId: string | null = `${userId}-c`): Event => [
  "HuddleParticipantJoined",
  at,
  { huddleId, userId, muted: false, videoEnabled: false, connectionId },
];
const left = (at: number, huddleId: string, userId: string, reason: string): Event => ["HuddleParticipantLeft", at, { huddleId, userId, reason, emptyExpiresAt: null }];

/**
 * h1 (w1, conv-1): alice starts it, invites dan; bob joins, loses his connection, comes back,
 * moves to another device; alice ends it with bob in it. h2 (w1, conv-1) later, still live.
 * h3 (w2, conv-1, same conversation id in another workspace): mallory's. h4 (w1, standalone):
 * erin and frank, emptied by frank's lost connection.
 */
const records = partitionOf(
  ["HuddleCreated", T0, { huddleId: "h1", createdBy: "alice", conversationId: "conv-1", title: "standup" }],
  ["HuddleParticipantsInvited", T0, { huddleId: "h1", userIds: ["dan"] }],
  joined(T0, "h1", "alice"),
  joined(T0 + 10, "h1", "bob"),
  ["AudioToggled", T0 + 11, { huddleId: "h1", userId: "bob", muted: true }],
  left(T0 + 20, "h1", "bob", "connection_lost"),
  joined(T0 + 30, "h1", "bob", "bob-c2"),
  left(T0 + 40, "h1", "bob", "moved"),
  joined(T0 + 40, "h1", "bob", "bob-c3"),
  left(T0 + 50, "h1", "alice", "left"),
  ["HuddleEnded", T0 + 60, { huddleId: "h1", reason: "ended", durationMs: 60, endedBy: "alice" }],
  ["HuddleCreated", T0 + 100, { huddleId: "h2", createdBy: "bob", conversationId: "conv-1", title: null }],
  joined(T0 + 100, "h2", "bob"),
  ["HuddleCreated", T0 + 200, { workspaceId: "w2", huddleId: "h3", createdBy: "mallory", conversationId: "conv-1", title: "elsewhere" }],
  ["HuddleCreated", T0 + 300, { huddleId: "h4", createdBy: "erin", conversationId: null, title: null }],
  ["HuddleParticipantsInvited", T0 + 300, { huddleId: "h4", userIds: ["frank"] }],
  joined(T0 + 300, "h4", "erin"),
  joined(T0 + 310, "h4", "frank", null),
  left(T0 + 320, "h4", "erin", "left"),
  left(T0 + 330, "h4", "frank", "connection_lost"),
  ["HuddleEnded", T0 + 330, { huddleId: "h4", reason: "empty", durationMs: 30, endedBy: null }],
);

describe("the huddles' history in MongoDB", () => {
  const client = new MongoClient(config.mongo.url);
  let store: MongoHuddleHistoryStore;

  beforeAll(async () => {
    await client.connect();
    store = new MongoHuddleHistoryStore(client.db(), prefix);
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store.clear();
    await client.close();
  });

  /** Everything a reader can see: each huddle whole, and the conversation's list in both workspaces. */
  const everything = async () => ({
    huddles: await Promise.all(["h1", "h2", "h3", "h4"].map((huddleId) => store.huddle(huddleId, huddleId === "h3" ? "w2" : "w1"))),
    conv1: await store.huddlesOfConversation("conv-1", "w1", { limit: 10 }),
    conv1w2: await store.huddlesOfConversation("conv-1", "w2", { limit: 10 }),
  });

  it("keeps each huddle's record and every stay in it, with times and reasons", async () => {
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await store.checkpoints(TOPIC)).toEqual(new Map([[0, records.length]]));

    expect(await store.huddle("h1", "w1")).toEqual({
      huddleId: "h1",
      workspaceId: "w1",
      conversationId: "conv-1",
      title: "standup",
      createdBy: "alice",
      createdAt: T0,
      invited: ["dan"],
      endedAt: T0 + 60,
      endReason: "ended",
      endedBy: "alice",
      durationMs: 60,
      participations: [
        { userId: "alice", joinedAt: T0, leftAt: T0 + 50, reason: "left" },
        { userId: "bob", joinedAt: T0 + 10, leftAt: T0 + 20, reason: "connection_lost" },
        { userId: "bob", joinedAt: T0 + 30, leftAt: T0 + 40, reason: "moved" },
        { userId: "bob", joinedAt: T0 + 40, leftAt: T0 + 60, reason: "ended" },
      ],
    });
    expect(await store.huddle("h2", "w1")).toMatchObject({ endedAt: null, endReason: null, participations: [{ userId: "bob", joinedAt: T0 + 100, leftAt: null, reason: null }] });
    expect(await store.huddle("h4", "w1")).toMatchObject({
      conversationId: null,
      invited: ["frank"],
      endReason: "empty",
      endedBy: null,
      participations: [
        { userId: "erin", leftAt: T0 + 320, reason: "left" },
        { userId: "frank", leftAt: T0 + 330, reason: "connection_lost" },
      ],
    });
    const h4 = (await store.huddle("h4", "w1"))!;
    expect([involves(h4, "erin"), involves(h4, "frank"), involves(h4, "mallory")]).toEqual([true, true, false]);
  });

  it("lists a conversation's huddles newest first, page by page, within the reader's workspace only", async () => {
    const first = await store.huddlesOfConversation("conv-1", "w1", { limit: 1 });
    expect(first.huddles.map(({ huddleId }) => huddleId)).toEqual(["h2"]);
    expect(first.next).toEqual({ createdAt: T0 + 100, huddleId: "h2" });
    const second = await store.huddlesOfConversation("conv-1", "w1", { limit: 1, after: first.next! });
    expect(second.huddles.map(({ huddleId }) => huddleId)).toEqual(["h1"]);
    expect(second.next).toBeUndefined();
    // The same huddle and conversation ids from another workspace answer nothing.
    expect(await store.huddle("h3", "w1")).toBeUndefined();
    expect(await store.huddle("h1", "w2")).toBeUndefined();
    expect((await store.huddlesOfConversation("conv-1", "w2", { limit: 10 })).huddles.map(({ huddleId, createdBy }) => [huddleId, createdBy])).toEqual([["h3", "mallory"]]);
  });

  it("changes nothing when records are replayed, from the checkpoint or whole", async () => {
    const before = await everything();
    expect(await store.apply(TOPIC, 0, records)).toEqual([]);
    // A crash after the writes and before the checkpoint: every record again, the checkpoint behind them.
    await client.db().collection(`${prefix}projection_checkpoints`).deleteMany({ projection: "huddle-history" });
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await everything()).toEqual(before);
  });

  it("comes out the same when rebuilt from the beginning", async () => {
    const before = await everything();
    await store.clear();
    expect(await store.huddle("h1", "w1")).toBeUndefined();
    expect(await store.checkpoints(TOPIC)).toEqual(new Map());
    // Applied in batches, as a rebuild reads them.
    for (let from = 0; from < records.length; from += 4) await store.apply(TOPIC, 0, records.slice(from, from + 4));
    expect(await everything()).toEqual(before);
  });
});
