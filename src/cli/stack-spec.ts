import { CONTEXT_MODULES, settingsOf, type Config } from "../contexts/index.js";
import type { ContextModule } from "../platform/context-module.js";
import { DEPENDENCIES, type Dependency } from "../platform/dependencies.js";
import type { StackSpec } from "../infra/stack/stack.js";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

function local(url: URL): { host: string; port: number } | undefined {
  if (!LOOPBACK.has(url.hostname)) return undefined;
  return { host: url.hostname === "localhost" ? "127.0.0.1" : url.hostname, port: Number(url.port) };
}

/**
 * The part of the configuration the local stack can serve: every dependency of `uses` (all of
 * them unless told) whose address is on this machine, and the servers the contexts of `modules`
 * ask for with their settings (for calls: coturn unless a TURN server is configured, S3Proxy
 * while the recordings' storage has no S3_ENDPOINT, outside production). A variable
 * pointing elsewhere means the user runs that server, so the stack leaves it alone.
 */
export function stackSpecFromConfig(
  config: Config,
  uses: readonly Dependency[] = DEPENDENCIES,
  modules: readonly ContextModule<string, unknown>[] = CONTEXT_MODULES,
): StackSpec {
  const spec: { -readonly [K in keyof StackSpec]: StackSpec[K] } = { dir: config.stack.dir };
  if (config.stack.javaHome !== undefined) spec.javaHome = config.stack.javaHome;
  const [broker, ...others] = config.kafka.brokers;
  if (uses.includes("kafka") && broker !== undefined && others.length === 0) {
    const kafka = local(new URL(`kafka://${broker}`));
    if (kafka) spec.kafka = { ...kafka, controllerPort: config.stack.kafkaControllerPort, version: config.stack.kafkaVersion };
  }
  const registryUrl = new URL(config.registry.url);
  const registry = local(registryUrl);
  if (uses.includes("schema_registry") && registry) {
    spec.registry = { host: registry.host, port: registry.port || (registryUrl.protocol === "https:" ? 443 : 80), version: config.stack.registryVersion };
  }
  const mongo = local(new URL(config.mongo.url));
  if (uses.includes("mongo") && mongo) spec.mongo = { host: mongo.host, port: mongo.port || 27017, version: config.stack.mongoVersion };
  const redis = local(new URL(config.redis.url));
  if (uses.includes("redis") && redis) spec.redis = { host: redis.host, port: redis.port || 6379 };
  const mysqlUrl = new URL(config.mysql.url);
  const mysql = local(mysqlUrl);
  if (uses.includes("mysql") && mysql) {
    spec.mysql = {
      host: mysql.host,
      port: mysql.port || 3306,
      user: decodeURIComponent(mysqlUrl.username || "root"),
      password: decodeURIComponent(mysqlUrl.password),
      databases: [mysqlUrl.pathname.replace(/^\//, "")].filter(Boolean),
    };
  }
  for (const module of modules) Object.assign(spec, module.localServers?.(settingsOf(config, module)));
  return spec;
}
