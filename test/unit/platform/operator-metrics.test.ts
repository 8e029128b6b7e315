import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { formatRebuildResult, formatStatus } from "../../../src/cli/projection-tools.js";
import { CommandBus, outcomeLabel } from "../../../src/platform/gateway/command-bus.js";
import type { ChannelListener, ChannelSource } from "../../../src/platform/gateway/pubsub-hub.js";
import type { DeltaListener } from "../../../src/contexts/conversations/channels/delta-fanout.js";
import { conversationFeed, deltaTime } from "../../../src/contexts/conversations/channels/conversation-feed.js";
import type { RecordProducer } from "../../../src/infra/kafka/record-producer.js";
import { createLogger } from "../../../src/infra/log/logger.js";
import { gatewayMetrics, projectionMetrics } from "../../../src/infra/metrics/service-metrics.js";
import type { ConversationDelta, HistoryMessage } from "../../../src/contexts/conversations/projections/history/history-port.js";
import { presenceOperations } from "../../../src/contexts/presence/metrics.js";
import { partitionStatus } from "../../../src/platform/projection/rebuild.js";

const logger = createLogger({ level: "silent", name: "test" });

const message = (seq: number, sentAt: number): HistoryMessage => ({
  id: `m${seq}`,
  conversationId: "c1",
  seq,
  senderId: "alice",
  type: "text",
  content: "hi",
  attachments: [],
  clientMsgId: null,
  replyToMessageId: null,
  sentAt,
  editedAt: null,
  revision: 0,
  deletedAt: null,
  reactions: {},
});

/** A histogram's values carry the name of their series (`_bucket`, `_sum`, `_count`), untyped. */
const seriesName = (value: object): string | undefined => (value as { metricName?: string }).metricName;

/** Sums of a histogram without labels: how many observations and their total. */
async function histogram(registry: Registry, name: string): Promise<{ count: number; sum: number }> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const pick = (suffix: string) => values.filter((v) => seriesName(v) === `${name}_${suffix}`).reduce((total, v) => total + v.value, 0);
  return { count: pick("count"), sum: pick("sum") };
}

describe("projection status", () => {
  it("is the high watermark minus the checkpoint, per partition in order", () => {
    const status = partitionStatus("t", [
      { partition: 1, low: 0, high: 10 },
      { partition: 0, low: 0, high: 7 },
      { partition: 2, low: 5, high: 9 },
    ], new Map([[0, 7], [1, 4]]));
    expect(status).toEqual([
      { topic: "t", partition: 0, checkpoint: 7, highWatermark: 7, lag: 0 },
      { topic: "t", partition: 1, checkpoint: 4, highWatermark: 10, lag: 6 },
      // No checkpoint: everything still in the log is to be read.
      { topic: "t", partition: 2, checkpoint: undefined, highWatermark: 9, lag: 4 },
    ]);
  });

  it("prints as an aligned table and a rate line", () => {
    const table = formatStatus([
      { projection: "history", partitions: partitionStatus("quikapp.messages.events", [{ partition: 0, low: 0, high: 120 }], new Map([[0, 20]])) },
      { projection: "membership", partitions: partitionStatus("quikapp.conversations.events", [{ partition: 0, low: 0, high: 0 }], new Map()) },
    ]).split("\n");
    expect(table[0]).toMatch(/^projection\s+topic\s+partition\s+checkpoint\s+high watermark\s+lag$/);
    expect(table[1]).toMatch(/^history\s+quikapp\.messages\.events\s+0\s+20\s+120\s+100$/);
    expect(table[2]).toMatch(/^membership\s+quikapp\.conversations\.events\s+0\s+-\s+0\s+0$/);
    expect(new Set(table.map((line) => line.length)).size).toBe(1);
    expect(formatRebuildResult("history", { topic: "t", applied: 5000, read: 5000, undecodable: 0, seconds: 2 })).toBe(
      "history: 5000 events applied from t in 2.0 s (2500 events/s)",
    );
  });
});

describe("the metrics registry", () => {
  it("shares the gateway and projection metrics between the roles of one process", () => {
    const registry = new Registry();
    expect(gatewayMetrics(registry).commandReplySeconds).toBe(gatewayMetrics(registry).commandReplySeconds);
    expect(projectionMetrics(registry).lag).toBe(projectionMetrics(registry).lag);
    expect(projectionMetrics(registry).kafka.consumerLag).toBe(projectionMetrics(registry).kafka.consumerLag);
    expect(presenceOperations(registry)).toBe(presenceOperations(registry));
    expect(registry.getMetricsAsArray().map((m) => m.name).sort()).toEqual([
      "kafka_consumer_lag",
      "kafka_produce_latency_seconds",
      "presence_tracking_operations_total",
      "quikchat_command_reply_seconds",
      "quikchat_event_delivery_seconds",
      "quikchat_projection_events_total",
      "quikchat_projection_lag",
    ]);
  });
});

describe("the command reply histogram", () => {
  function bus(registry: Registry, answer: (commandId: string) => string | undefined) {
    const listeners: ChannelListener[] = [];
    const replies: ChannelSource = {
      listen: (channel, listener) => {
        expect(channel).toBe("reply:n1");
        listeners.push(listener);
        return Promise.resolve(() => undefined);
      },
    };
    const producer = {
      send: (records: { value: { meta: { commandId: string } } }[]) => {
        const reply = answer(records[0]!.value.meta.commandId);
        if (reply !== undefined) setTimeout(() => listeners.forEach((listener) => listener.onMessage(reply)), 5);
        return Promise.resolve();
      },
    };
    return new CommandBus(producer as unknown as RecordProducer, replies, "n1", "", logger, {
      timeoutMs: 50,
      metrics: gatewayMetrics(registry),
    });
  }

  it("labels answered commands by outcome and unanswered ones by error", async () => {
    const registry = new Registry();
    const accepting = bus(registry, (commandId) => JSON.stringify({ commandId, ok: true, result: {} }));
    await accepting.start();
    const by = { userId: "u1", workspaceId: "w1" };
    await accepting.send("messages", "SendMessage", "c1", { meta: accepting.meta(by) });
    const silent = bus(registry, () => undefined);
    await expect(silent.send("messages", "SendMessage", "c1", { meta: silent.meta(by) })).rejects.toMatchObject({ code: "timeout" });

    const values = (await registry.getSingleMetric("quikchat_command_reply_seconds")?.get())?.values ?? [];
    const counts = values.filter((v) => seriesName(v) === "quikchat_command_reply_seconds_count").map((v) => [v.labels, v.value]);
    expect(counts).toEqual([
      [{ context: "messages", type: "SendMessage", outcome: "accepted" }, 1],
      [{ context: "messages", type: "SendMessage", outcome: "timeout" }, 1],
    ]);
  });

  it("tells rejections from dead-lettered commands", () => {
    expect(outcomeLabel({ commandId: "x", ok: true, result: {} })).toBe("accepted");
    expect(outcomeLabel({ commandId: "x", ok: false, error: { code: "not_a_member", message: "" } })).toBe("rejected");
    expect(outcomeLabel({ commandId: "x", ok: false, error: { code: "internal", message: "" } })).toBe("internal");
  });
});

describe("the event delivery histogram", () => {
  it("observes live pushes from the event's time, not join recovery nor kinds without a time", async () => {
    const registry = new Registry();
    const listeners: DeltaListener[] = [];
    const stored = [message(1, 1_000)];
    const feed = conversationFeed(
      { listen: (_id, listener) => Promise.resolve((listeners.push(listener), () => undefined)) },
      { messages: (_id, range) => Promise.resolve(stored.filter((m) => m.seq > (range.afterSeq ?? 0)).slice(0, range.limit)), lastSeq: () => Promise.resolve(stored.length) },
      logger,
      { metrics: gatewayMetrics(registry), now: () => 10_000 },
    );
    const pushed: string[] = [];
    const { response } = await feed.open("c1", { last_seq: 0 }, (kind) => pushed.push(kind));
    expect(response).toMatchObject({ recovered: true, last_seq: 1 });

    const live: ConversationDelta[] = [
      { kind: "message_new", conversationId: "c1", seq: 2, message: message(2, 9_500) },
      { kind: "reaction_added", conversationId: "c1", seq: 2, messageId: "m2", userId: "bob", emoji: "👍" },
      { kind: "message_deleted", conversationId: "c1", seq: 2, messageId: "m2", deletedAt: 9_000, deletedBy: "alice" },
    ];
    for (const delta of live) listeners[0]!.onDelta(delta);
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(pushed).toEqual(["message_new", "reaction_added", "message_deleted"]);
    expect(await histogram(registry, "quikchat_event_delivery_seconds")).toEqual({ count: 2, sum: 1.5 });
    expect(live.map(deltaTime)).toEqual([9_500, undefined, 9_000]);
  });
});
