import { MongoClient } from "mongodb";
import type { DependencyProbe } from "../../platform/gateway/dependency-health.js";

/** A MongoDB client; the database is the one named in the URL. */
export function createMongoClient(url: string): MongoClient {
  return new MongoClient(url, { serverSelectionTimeoutMS: 3_000, connectTimeoutMS: 3_000, retryWrites: false });
}

export function mongoProbe(client: MongoClient): DependencyProbe {
  return {
    name: "mongo",
    async check() {
      await client.db().command({ ping: 1 });
    },
  };
}

/**
 * Connects once to `url`, pings and closes: resolves when MongoDB answers within `timeoutMs`,
 * rejects otherwise with why (the driver's server selection names the connection's error).
 */
export async function pingMongoOnce(url: string, timeoutMs: number): Promise<void> {
  // Server selection gives up a little before the caller does, so its reason reaches the caller.
  const selection = Math.max(100, timeoutMs - 250);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: selection, connectTimeoutMS: selection, retryWrites: false });
  try {
    await client.db().command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}
