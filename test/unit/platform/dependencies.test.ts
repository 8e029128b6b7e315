import type { MongoClient } from "mongodb";
import type { Pool } from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { stackSpecFromConfig } from "../../../src/cli/stack-spec.js";
import { CONTEXT_MODULES, loadConfig, settingsOf } from "../../../src/contexts/index.js";
import { defineContext, kitFor, usedDependencies, type ContextModule } from "../../../src/platform/context-module.js";

const usedWith = (env: Record<string, string>) => {
  const config = loadConfig(env);
  return usedDependencies(CONTEXT_MODULES, (module) => settingsOf(config, module));
};

describe("the dependencies a configuration uses", () => {
  it("are the platform's, MySQL and MongoDB (the calls' recordings), whatever the history store", () => {
    expect(usedWith({})).toEqual(["kafka", "schema_registry", "redis", "mysql", "mongo"]);
    expect(usedWith({ HISTORY_STORE: "mongo" })).toEqual(["kafka", "schema_registry", "redis", "mysql", "mongo"]);
  });

  it("decide what the local stack brings up for start", () => {
    const config = loadConfig({});
    const spec = stackSpecFromConfig(config, usedWith({}));
    expect(Object.keys(spec).filter((key) => !["dir", "javaHome"].includes(key)).sort()).toEqual(["coturn", "kafka", "mongo", "mysql", "redis", "registry", "s3proxy"]);
    expect(stackSpecFromConfig(config).mongo).toBeDefined();
  });

  it("bring up the stack's coturn for calls only while no TURN server is configured", () => {
    expect(stackSpecFromConfig(loadConfig({})).coturn).toEqual({ host: "127.0.0.1", port: 3480, minPort: 49160, maxPort: 49200 });
    const configured = loadConfig({ TURN_SERVERS: "turn:turn.example.com:3478", TURN_SECRET: "s".repeat(40) });
    expect(stackSpecFromConfig(configured).coturn).toBeUndefined();
  });

  it("bring up the stack's S3Proxy for recordings only while no S3 endpoint is configured, outside production", () => {
    expect(stackSpecFromConfig(loadConfig({})).s3proxy).toEqual({ host: "127.0.0.1", port: 8333, version: "2.6.0" });
    expect(stackSpecFromConfig(loadConfig({ S3_ENDPOINT: "http://127.0.0.1:9000" })).s3proxy).toBeUndefined();
    const production = loadConfig({ NODE_ENV: "production", JWT_SECRET: "k".repeat(48) });
    expect(production.calls.recordings.target).toEqual({ kind: "aws" });
    expect(stackSpecFromConfig(production).s3proxy).toBeUndefined();
  });
});

describe("a context's kit", () => {
  const pool = { name: "pool" } as unknown as Pool;
  const mongo = { name: "mongo" } as unknown as MongoClient;
  const kitOf = (module: ContextModule<string, unknown>, connections = { pool, mongo }) =>
    kitFor<{ readonly config: string; readonly pool: Pool; readonly mongo: MongoClient }>(module, undefined, { config: "c" }, connections);

  it("hands out the stores the context declares", () => {
    const kit = kitOf(defineContext({ name: "both", dependencies: () => ["mysql", "mongo"] }));
    expect([kit.config, kit.pool, kit.mongo]).toEqual(["c", pool, mongo]);
  });

  it("refuses a store the context does not declare, naming the context", () => {
    const kit = kitOf(defineContext({ name: "sql_only", dependencies: () => ["mysql"] }));
    expect(kit.pool).toBe(pool);
    expect(() => kit.mongo).toThrow("the sql_only context uses mongo without declaring it in its dependencies");
    expect(() => kitOf(defineContext({ name: "none" })).pool).toThrow(/the none context uses mysql/);
  });
});
