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
