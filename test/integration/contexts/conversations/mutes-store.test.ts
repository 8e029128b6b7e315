import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MUTES_PROJECTION } from "../../../../src/contexts/conversations/projections/mutes/mute-changes.js";
import { mutesStore } from "../../../../src/contexts/conversations/projections/mutes/mutes-projection.js";
import type { MysqlMutesStore } from "../../../../src/contexts/conversations/projections/mutes/mysql-mutes-store.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import { createMysqlPool, tablePrefixOf } from "../../../../src/infra/mysql/mysql-pool.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";

const config = testConfig();
const prefix = uniquePrefix("mutes-store");
const TOPIC = "quikapp.conversations.events";
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/** Records of one partition, at consecutive offsets from 0. */
function partitionOf(...events: [type: string, data: { conversationId: string } & Record<string, unknown>][]): ConsumedRecord[] {
  return events.map(([type, data], offset) => {
    const meta: EventMeta = { eventId: `e-${offset}`, occurredAt: T0 + offset, correlationId: "c", causationId: null, actorId: "a", workspaceId: "w1" };
    return { topic: TOPIC, partition: 0, offset, key: data.conversationId, timestamp: T0, headers: {}, fullName: `quikchat.conversations.${type}`, value: { meta, ...data } };
  });
}

const records = partitionOf(
  ["ConversationCreated", { conversationId: "c1", type: "group", title: "T", description: null, createdBy: "ann", members: [{ userId: "ann", role: "owner" }, { userId: "ben", role: "member" }, { userId: "cat", role: "member" }] }],
  ["ConversationMuteSet", { conversationId: "c1", userId: "ann", muted: true, mutedUntil: null }],
  ["ConversationMuteSet", { conversationId: "c1", userId: "ben", muted: true, mutedUntil: T0 + HOUR }],
  ["ConversationMuteSet", { conversationId: "c1", userId: "cat", muted: true, mutedUntil: null }],
  ["ConversationMuteSet", { conversationId: "c1", userId: "cat", muted: false, mutedUntil: null }],
  ["ConversationMuteSet", { conversationId: "c2", userId: "dan", muted: true, mutedUntil: null }],
  // dan leaves c2: his setting goes with him.
  ["MemberRemoved", { conversationId: "c2", userId: "dan", reason: "left" }],
);

describe("the members' mutes in MySQL", () => {
  const pool = createMysqlPool(config.mysql.url, 2);
  let store: MysqlMutesStore;

  beforeAll(async () => {
    store = mutesStore(pool, prefix);
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store.clear();
    for (const table of ["conversation_mutes", "projection_checkpoints"]) await pool.query(`DROP TABLE IF EXISTS \`${tablePrefixOf(prefix)}${table}\``);
    await pool.end();
  });

  const everything = async () => [await store.mutedAmong("c1", ["ann", "ben", "cat", "eve"], T0), await store.mutedAmong("c2", ["dan"], T0), await store.muteOf("c1", "ben", T0)];

  it("answers who muted a conversation at an instant, and each member's setting", async () => {
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await store.checkpoints(TOPIC)).toEqual(new Map([[0, records.length]]));
    expect(await store.mutedAmong("c1", ["ann", "ben", "cat", "eve"], T0)).toEqual(new Set(["ann", "ben"]));
    // ben's mute ended after an hour.
    expect(await store.mutedAmong("c1", ["ann", "ben", "cat"], T0 + HOUR)).toEqual(new Set(["ann"]));
    expect(await store.muteOf("c1", "ann", T0)).toEqual({ muted: true, until: null });
    expect(await store.muteOf("c1", "ben", T0)).toEqual({ muted: true, until: T0 + HOUR });
    expect(await store.muteOf("c1", "ben", T0 + HOUR)).toEqual({ muted: false, until: null });
    expect(await store.muteOf("c1", "cat", T0)).toEqual({ muted: false, until: null });
    expect(await store.muteOf("c2", "dan", T0)).toEqual({ muted: false, until: null });
    expect(await store.mutedAmong("c1", [], T0)).toEqual(new Set());
  });

  it("changes nothing when the same records are applied again, and is rebuilt the same after a clear", async () => {
    const before = await everything();
    expect(await store.apply(TOPIC, 0, records)).toEqual([]);
    await pool.query(`DELETE FROM \`${tablePrefixOf(prefix)}projection_checkpoints\` WHERE projection = ?`, [MUTES_PROJECTION]);
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await everything()).toEqual(before);
    await store.clear();
    expect(await store.checkpoints(TOPIC)).toEqual(new Map());
    for (let at = 0; at < records.length; at += 2) await store.apply(TOPIC, 0, records.slice(at, at + 2));
    expect(await everything()).toEqual(before);
  });
});
