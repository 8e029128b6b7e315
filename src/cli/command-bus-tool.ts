import { randomUUID } from "node:crypto";
import type { Config } from "../contexts/index.js";
import { RecordProducer } from "../infra/kafka/record-producer.js";
import { createLogger } from "../infra/log/logger.js";
import { createRedis } from "../infra/redis/redis-connection.js";
import type { ToolKit } from "../platform/context-module.js";
import { CommandBus } from "../platform/gateway/command-bus.js";
import { PubSubHub } from "../platform/gateway/pubsub-hub.js";
import { ServiceError } from "../platform/errors/error-codes.js";
import { bootstrapContract } from "./bootstrap.js";
import { waitForDependencies } from "./dependency-wait.js";
import { ToolError } from "./tool-error.js";

/**
 * What the contexts' own commands get: a command bus of the tool's own, sending as a gateway
 * does, the outcome coming back on the tool's reply channel. A refusal or a failure to get an
 * answer becomes a one-line {@link ToolError}.
 */
export function toolKit(config: () => Config): ToolKit {
  return {
    async withCommandBus(work) {
      const cfg = config();
      const logger = createLogger({ level: cfg.service.logLevel, name: "quikchat-tool" });
      await waitForDependencies(cfg, ["kafka", "schema_registry", "redis"], logger);
      const { codec } = await bootstrapContract(cfg, logger);
      const subscriber = createRedis(cfg.redis.url, logger, { name: "tool-subscriber" });
      const producer = new RecordProducer({ brokers: cfg.kafka.brokers, clientId: `${cfg.kafka.clientId}-tool` }, codec, logger);
      try {
        await producer.connect();
        const bus = new CommandBus(producer, new PubSubHub(subscriber, logger), `${cfg.service.nodeId}.tool.${randomUUID().slice(0, 8)}`, cfg.kafka.topicPrefix, logger);
        await bus.start();
        return await work(bus);
      } catch (error) {
        if (error instanceof ServiceError) throw new ToolError(`${error.code}: ${error.publicMessage}`);
        throw error;
      } finally {
        await producer.close();
        subscriber.disconnect();
      }
    },
  };
}
