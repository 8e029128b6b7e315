import { afterAll, describe, expect, it } from "vitest";
import { createMongoClient, mongoProbe } from "../../../src/infra/mongo/mongo-connection.js";
import { createMysqlPool, mysqlProbe } from "../../../src/infra/mysql/mysql-pool.js";
import { createRedis, redisProbe } from "../../../src/infra/redis/redis-connection.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const config = testConfig();
const prefix = uniquePrefix("adapters");

describe("the local stack's data stores", () => {
  const redis = createRedis(config.redis.url, testLogger(), { name: "smoke" });
  const pool = createMysqlPool(config.mysql.url, 2);
  const mongo = createMongoClient(config.mongo.url);
  const table = `${prefix.replaceAll(".", "_")}smoke`;

  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS \`${table}\``);
    await Promise.all([redis.quit(), pool.end(), mongo.close()]);
  });

  it("Redis stores, expires and publishes", async () => {
    await redis.set(`${prefix}key`, "value", "PX", 60_000);
    expect(await redis.get(`${prefix}key`)).toBe("value");
    expect(await redis.pttl(`${prefix}key`)).toBeGreaterThan(0);
    await expect(redisProbe(redis).check(1_000)).resolves.toBeUndefined();
  });

  it("MariaDB runs transactions in the project's database", async () => {
    await pool.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, body VARCHAR(64)) ENGINE=InnoDB`);
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await connection.query(`INSERT INTO \`${table}\` VALUES (1, 'kept')`);
      await connection.commit();
      await connection.beginTransaction();
      await connection.query(`INSERT INTO \`${table}\` VALUES (2, 'rolled back')`);
      await connection.rollback();
    } finally {
      connection.release();
    }
    const [rows] = await pool.query(`SELECT id, body FROM \`${table}\` ORDER BY id`);
    expect(rows).toEqual([{ id: 1, body: "kept" }]);
    const [[database]] = (await pool.query("SELECT DATABASE() AS name")) as unknown as [[{ name: string }]];
    expect(database.name).toBe(new URL(config.mysql.url).pathname.slice(1));
    await expect(mysqlProbe(pool).check(1_000)).resolves.toBeUndefined();
  });

  it("the MongoDB wire protocol inserts, updates and queries", async () => {
    const collection = mongo.db().collection<{ _id: string; version: number; participants: string[] }>(`${prefix}calls`);
    await collection.insertOne({ _id: "call-1", version: 1, participants: ["u1"] });
    const update = await collection.updateOne(
      { _id: "call-1", version: { $lt: 2 } },
      { $set: { version: 2 }, $addToSet: { participants: "u2" } },
    );
    expect(update.modifiedCount).toBe(1);
    expect(await collection.findOne({ _id: "call-1" })).toEqual({ _id: "call-1", version: 2, participants: ["u1", "u2"] });
    await collection.drop();
    await expect(mongoProbe(mongo).check(1_000)).resolves.toBeUndefined();
  });
});
