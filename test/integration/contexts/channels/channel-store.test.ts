import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pool } from "mysql2/promise";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import { createMysqlPool } from "../../../../src/infra/mysql/mysql-pool.js";
import { MysqlChannelStore } from "../../../../src/contexts/channels/projections/channels/mysql-channel-store.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";

const TOPIC = "quikapp.channels.events";
const T0 = 1_700_000_000_000;
const meta = (n: number): EventMeta => ({ eventId: `e-${n}`, occurredAt: T0 + n, correlationId: `c-${n}`, causationId: null, actorId: "system:server-api", workspaceId: "w1" });
const settings = { historyEnabled: true, historyTtlSeconds: 60, presenceEnabled: false, pushNotificationsEnabled: false, maxSubscribers: 0 };

/** Records of one partition with consecutive offsets. */
function log() {
  let offset = 0;
  return (name: string, value: Record<string, unknown>): ConsumedRecord => ({
    topic: TOPIC,
    partition: 0,
    offset: offset,
    key: "ch1",
    timestamp: undefined,
    headers: {},
    fullName: `quikchat.channels.${name}`,
    value: { meta: meta(offset++), channelId: "ch1", ...value },
  });
}

/** The channels read model against the machine's MariaDB: history kept for its lifetime, replays harmless. */
describe("the channels read model in MySQL", () => {
  let pool: Pool;
  let store: MysqlChannelStore;
  let now = T0;
  const tablePrefix = uniquePrefix("channels").replace(/[^A-Za-z0-9_]/g, "_");

  beforeAll(async () => {
    pool = createMysqlPool(testConfig().mysql.url, 2);
    store = new MysqlChannelStore(pool, tablePrefix, () => now);
    await store.ensureSchema();
  });

  afterAll(async () => {
    for (const table of ["channel_publications", "channel_subscribers", "channels", "projection_checkpoints"]) await pool.query(`DROP TABLE IF EXISTS \`${tablePrefix}${table}\``);
    await pool.end();
  });

  it("keeps the registry, the subscribers and the history; expired publications are gone; a replay changes nothing", async () => {
    const record = log();
    const records = [
      record("ChannelCreated", { name: "Ops", channelType: "TEAM", ownerId: null, settings }),
      record("UserSubscribed", { userId: "alice" }),
      record("ChannelPublished", { seq: 1, data: '{"n":1}', publisherId: null, expiresAt: T0 + 10_000 }),
      record("ChannelPublished", { seq: 2, data: '{"n":2}', publisherId: "alice", expiresAt: T0 + 60_000 }),
    ];
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(4);
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(0);
    expect(await store.channel("ch1")).toMatchObject({ workspaceId: "w1", channelType: "TEAM", subscriberCount: 1, settings });
    expect(await store.isSubscribed("ch1", "alice")).toBe(true);
    expect((await store.publicationsOf("ch1", { limit: 10 })).map((publication) => publication.seq)).toEqual([1, 2]);

    now = T0 + 10_000;
    expect((await store.publicationsOf("ch1", { limit: 10 })).map((publication) => publication.seq)).toEqual([2]);
    expect(await store.lastSeq("ch1")).toBe(2);

    const more = [...records, record("ChannelHistoryRemoved", { upToSeq: 2 }), record("UserUnsubscribed", { userId: "alice" })];
    expect(await store.apply(TOPIC, 0, more)).toHaveLength(2);
    expect(await store.publicationsOf("ch1", { limit: 10 })).toEqual([]);
    expect(await store.isSubscribed("ch1", "alice")).toBe(false);

    await store.apply(TOPIC, 0, [...more, record("ChannelDeleted", {})]);
    expect(await store.channel("ch1")).toBeUndefined();
    expect(await store.list("w1", { limit: 10 })).toEqual([]);
  });
});
