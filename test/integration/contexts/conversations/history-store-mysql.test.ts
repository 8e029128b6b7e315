import { createMysqlPool } from "../../../../src/infra/mysql/mysql-pool.js";
import { MysqlHistoryStore } from "../../../../src/contexts/conversations/projections/history/mysql-history-store.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";
import { historyStoreContract } from "./history-store-contract.js";

historyStoreContract("MySQL", async () => {
  const config = testConfig();
  const pool = createMysqlPool(config.mysql.url, 4);
  const tablePrefix = uniquePrefix("history").replace(/[^A-Za-z0-9_]/g, "_");
  return {
    store: new MysqlHistoryStore(pool, tablePrefix),
    async rewindCheckpoint(topic, partition, nextOffset) {
      await pool.query(`UPDATE \`${tablePrefix}projection_checkpoints\` SET next_offset = ? WHERE projection = 'history' AND topic = ? AND partition_id = ?`, [
        nextOffset,
        topic,
        partition,
      ]);
    },
    async dispose() {
      for (const table of ["message_reactions", "messages", "projection_checkpoints"]) await pool.query(`DROP TABLE IF EXISTS \`${tablePrefix}${table}\``);
      await pool.end();
    },
  };
});
