import { loadConfig } from "../../src/config/config.js";
import { createKafkajs } from "../../src/infra/kafka/kafkajs-client.js";
import { createLogger } from "../../src/infra/log/logger.js";
import { stackUp } from "../../src/infra/stack/stack.js";
import { stackSpecFromConfig } from "../../src/cli/stack-spec.js";

/**
 * Brings up the local stack once per test run (reusing whatever already runs), so the
 * integration and end-to-end tests always talk to real servers. Left running afterwards:
 * the next run starts warm. The teardown deletes the topics tests created (all named
 * `test.<label>.<random>.…`), so a long-lived development broker does not fill up.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const config = loadConfig(process.env);
  const teardown = () => deleteTestTopics(config.kafka);
  if (config.stack.mode !== "auto") return teardown;
  const started = Date.now();
  const components = await stackUp(stackSpecFromConfig(config), (line) => console.log(`[stack] ${line}`));
  console.log(
    `[stack] ready in ${Date.now() - started} ms: ${components.map((c) => `${c.name} ${c.state}`).join(", ")}`,
  );
  return teardown;
}

async function deleteTestTopics(settings: { brokers: readonly string[]; clientId: string }): Promise<void> {
  const admin = createKafkajs(settings, createLogger({ level: "error", name: "test-teardown" })).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((name) => name.startsWith("test."));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}
