import { describe, expect, it } from "vitest";
import { CommandBus } from "../../../../src/platform/gateway/command-bus.js";
import type { ChannelSource } from "../../../../src/platform/gateway/pubsub-hub.js";
import type { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { testLogger } from "../../../support/test-config.js";

describe("the command bus", () => {
  it("answers timeout, with no unhandled rejection, when the produce itself outlasts the timeout (Kafka down)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const producer = { send: () => new Promise((resolve) => setTimeout(resolve, 100)) } as unknown as RecordProducer;
      const bus = new CommandBus(producer, {} as ChannelSource, "node-1", "", testLogger(), { timeoutMs: 10 });
      const by = { userId: "u1", workspaceId: "w1" };
      await expect(bus.send("presence", "SetStatus", "u1", { meta: bus.meta(by) })).rejects.toMatchObject({ code: "timeout" });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
