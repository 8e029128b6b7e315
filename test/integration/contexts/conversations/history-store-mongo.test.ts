import { createMongoClient } from "../../../../src/infra/mongo/mongo-connection.js";
import { MongoHistoryStore } from "../../../../src/contexts/conversations/projections/history/mongo-history-store.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";
import { historyStoreContract } from "./history-store-contract.js";

historyStoreContract("MongoDB", async () => {
  const config = testConfig();
  const client = createMongoClient(config.mongo.url);
  const collectionPrefix = uniquePrefix("history").replace(/[^A-Za-z0-9_]/g, "_");
  const db = client.db();
  return {
    store: new MongoHistoryStore(db, collectionPrefix),
    async rewindCheckpoint(topic, partition, nextOffset) {
      await db.collection<{ _id: string }>(`${collectionPrefix}projection_checkpoints`).updateOne({ _id: `history:${topic}:${partition}` }, { $set: { nextOffset } });
    },
    async dispose() {
      for (const name of ["messages", "projection_checkpoints"]) await db.collection(`${collectionPrefix}${name}`).drop().catch(() => undefined);
      await client.close();
    },
  };
});
