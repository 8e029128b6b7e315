import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { createConnection } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { stunAnswers } from "../../../src/infra/stack/coturn-server.js";
import { tcpOpen } from "../../../src/infra/stack/readiness.js";
import { s3Answers } from "../../../src/infra/stack/s3proxy-server.js";
import {
  StackError,
  coturnSecret,
  s3proxyCredentials,
  stackDown,
  stackStatus,
  stackUp,
  startKafka,
  type S3Credentials,
  type StackSpec,
} from "../../../src/infra/stack/stack.js";

// Non-default ports and a directory of its own, so the developer's default stack is never touched.
const root = fileURLToPath(new URL("../../../.stack/", import.meta.url));
const dir = `${root}test-${randomBytes(4).toString("hex")}`;
const host = "127.0.0.1";
const database = `quikchat_stack_test_${randomBytes(3).toString("hex")}`;
const spec: StackSpec = {
  dir,
  cacheDir: `${root}cache`, // shared with the default stack: resolved classpaths and the unpacked registry
  kafka: { host, port: 19092, controllerPort: 19093, version: "3.9.1" },
  registry: { host, port: 18081, version: "3.3.3" },
  mongo: { host, port: 27117, version: "1.47.0" },
  redis: { host, port: 16379 },
  mysql: { host, port: 3306, user: "root", password: "", databases: [database] },
};

const kafkaClient = (broker: string): Kafka =>
  new Kafka({ clientId: "stack-test", brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 5 } });

async function topicsOf(broker: string, create?: string): Promise<string[]> {
  const admin = kafkaClient(broker).admin();
  await admin.connect();
  try {
    if (create !== undefined) await admin.createTopics({ topics: [{ topic: create, numPartitions: 1, replicationFactor: 1 }] });
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe("local stack", { timeout: 300_000 }, () => {
  afterAll(async () => {
    await stackDown(spec).catch(() => undefined);
    const conn = await createConnection({ host, port: 3306, user: "root", password: "" });
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``).finally(() => conn.end());
    await rm(dir, { recursive: true, force: true });
  });

  it("starts every component and each answers its own protocol", async () => {
    const up = await stackUp(spec);
    expect(up.map((c) => c.name)).toEqual(["kafka", "registry", "mongo", "redis", "mysql"]);
    for (const c of up.filter((s) => s.name !== "mysql")) {
      expect(c.state, c.name).toBe("started");
      expect(c.pid, c.name).toBeGreaterThan(0);
    }

    expect(await topicsOf("127.0.0.1:19092", "stack-test-topic")).toContain("stack-test-topic");

    const subjects = await fetch("http://127.0.0.1:18081/apis/ccompat/v7/subjects");
    expect(subjects.status).toBe(200);
    expect(await subjects.json()).toEqual([]);

    const mongo = new MongoClient("mongodb://127.0.0.1:27117", { serverSelectionTimeoutMS: 5_000 });
    try {
      const docs = mongo.db("stack_test").collection<{ n: number }>("docs");
      await docs.insertOne({ n: 1 });
      expect(await docs.countDocuments({ n: 1 })).toBe(1);
    } finally {
      await mongo.close();
    }

    const conn = await createConnection({ host, port: 3306, user: "root", password: "" });
    try {
      const [rows] = await conn.query("SHOW DATABASES LIKE ?", [database]);
      expect(rows).toHaveLength(1);
    } finally {
      await conn.end();
    }
  });

  it("reuses everything on a second up, quickly", async () => {
    const started = Date.now();
    const again = await stackUp(spec);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(again.map((c) => c.state)).toEqual(["reused", "reused", "reused", "reused", "reused"]);
  });

  it("reports status without changing anything", async () => {
    const status = await stackStatus(spec);
    const byName = Object.fromEntries(status.map((s) => [s.name, s]));
    for (const name of ["kafka", "registry", "mongo", "redis"] as const) {
      expect(byName[name]?.state, name).toBe("running");
      expect(byName[name]?.pid, name).toBeGreaterThan(0);
    }
    expect(byName.kafka?.version).toBe("3.9.1");
    expect(byName.registry?.version).toBe("3.3.3");
    expect(byName.mysql?.state).toBe("reused");
  });

  it("stops and restarts a second broker on its own data dir, keeping its topics", async () => {
    const options = { host, port: 19192, controllerPort: 19193, dataDir: `${dir}/kafka-second`, version: "3.9.1", cacheDir: `${root}cache` };
    const first = await startKafka(options);
    expect(first.state).toBe("started");
    await topicsOf(first.address, "survives-restart");
    await first.stop();
    expect(await tcpOpen(host, 19192)).toBe(false);

    const second = await startKafka(options);
    try {
      expect(second.state).toBe("started");
      expect(await topicsOf(second.address)).toContain("survives-restart");
    } finally {
      await second.stop();
    }
    expect(await tcpOpen(host, 19192)).toBe(false);
  });

  it("stops what it started and leaves the machine's MariaDB running", async () => {
    const down = await stackDown(spec);
    expect(down.map((c) => c.state)).toEqual(["stopped", "stopped", "stopped", "stopped", "reused"]);
    for (const port of [19092, 19093, 18081, 27117, 16379]) expect(await tcpOpen(host, port), String(port)).toBe(false);
    expect(await tcpOpen(host, 3306)).toBe(true);
  });

  it("refuses a port held by another program with one clear line", { timeout: 30_000 }, async () => {
    const squatter: Server = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.resume(); // read the client's FIN too, so close() below does not wait for ever
      socket.end("not a registry\n");
    });
    await new Promise<void>((resolve) => squatter.listen(18082, host, resolve));
    try {
      const attempt = stackUp({ dir, registry: { host, port: 18082, version: "3.3.3" } });
      await expect(attempt).rejects.toBeInstanceOf(StackError);
      await expect(attempt).rejects.toThrow(/^port 18082 is taken by another program; set SCHEMA_REGISTRY_URL to a registry or free the port$/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

// coturn alone in a folder of its own, on ports of its own: the stack's other servers are not restarted.
describe("local stack: coturn", { timeout: 60_000 }, () => {
  const coturnDir = `${root}test-coturn-${randomBytes(4).toString("hex")}`;
  const coturnSpec: StackSpec = { dir: coturnDir, coturn: { host, port: 13480, minPort: 49210, maxPort: 49230 } };

  afterAll(async () => {
    await stackDown(coturnSpec).catch(() => undefined);
    await rm(coturnDir, { recursive: true, force: true });
  });

  it("starts coturn, which answers a STUN Binding with its version, and generates its secret once", async () => {
    const [up] = await stackUp(coturnSpec);
    expect(up).toMatchObject({ name: "coturn", state: "started", address: "127.0.0.1:13480" });
    expect(up?.pid).toBeGreaterThan(0);
    expect(await stunAnswers(host, 13480)).toEqual({ ok: true, version: expect.stringMatching(/^4\.\d+\.\d+$/) });
    expect(await tcpOpen(host, 13480)).toBe(true);
    const secret = await coturnSecret(coturnDir, 13480);
    expect(secret.length).toBeGreaterThanOrEqual(32);

    const started = Date.now();
    expect((await stackUp(coturnSpec)).map((c) => c.state)).toEqual(["reused"]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await stackStatus(coturnSpec)).map((c) => [c.state, c.pid])).toEqual([["running", up?.pid]]);

    expect((await stackDown(coturnSpec)).map((c) => c.state)).toEqual(["stopped"]);
    expect(await stunAnswers(host, 13480, 500)).toEqual({ ok: false });
    expect((await stackUp(coturnSpec)).map((c) => c.state)).toEqual(["started"]);
    expect(await coturnSecret(coturnDir, 13480)).toBe(secret);
  });

  it("tells a stack that never ran coturn, in one line, where TURN comes from instead", async () => {
    await expect(coturnSecret(`${coturnDir}-never`, 13480)).rejects.toThrow(/^no TURN secret in .*: the local stack has not started coturn; run quikchat stack up, or set TURN_SERVERS and TURN_SECRET$/);
  });
});

// S3Proxy alone in a folder of its own, on a port of its own; the jar is cached with the default stack's.
describe("local stack: S3Proxy", { timeout: 120_000 }, () => {
  const s3Dir = `${root}test-s3proxy-${randomBytes(4).toString("hex")}`;
  const s3Spec: StackSpec = { dir: s3Dir, cacheDir: `${root}cache`, s3proxy: { host, port: 18333, version: "2.6.0" } };
  const clientWith = (credentials: S3Credentials): S3Client =>
    // S3Proxy answers the SDK's default CRC32 checksum headers with NotImplemented.
    new S3Client({
      endpoint: "http://127.0.0.1:18333",
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { ...credentials }, // the SDK marks the object it is given
      maxAttempts: 1,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });

  afterAll(async () => {
    await stackDown(s3Spec).catch(() => undefined);
    await rm(s3Dir, { recursive: true, force: true });
  });

  it("starts S3Proxy, which serves signed S3 requests only, and keeps its credentials and objects across a restart", async () => {
    const [up] = await stackUp(s3Spec);
    expect(up).toMatchObject({ name: "s3proxy", state: "started", address: "127.0.0.1:18333", version: "2.6.0" });
    expect(up?.pid).toBeGreaterThan(0);
    expect(await s3Answers(host, 18333)).toBe(true);

    const credentials = await s3proxyCredentials(s3Dir, 18333);
    const client = clientWith(credentials);
    try {
      await client.send(new CreateBucketCommand({ Bucket: "stack-test" }));
      await client.send(new PutObjectCommand({ Bucket: "stack-test", Key: "kept", Body: "kept across restarts" }));
      expect((await client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(["stack-test"]);
      const stranger = clientWith({ accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret" });
      await expect(stranger.send(new ListBucketsCommand({}))).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
      stranger.destroy();

      const started = Date.now();
      expect((await stackUp(s3Spec)).map((c) => c.state)).toEqual(["reused"]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await stackStatus(s3Spec)).map((c) => [c.state, c.pid])).toEqual([["running", up?.pid]]);

      expect((await stackDown(s3Spec)).map((c) => c.state)).toEqual(["stopped"]);
      expect(await tcpOpen(host, 18333)).toBe(false);
      expect((await stackStatus(s3Spec)).map((c) => c.state)).toEqual(["down"]);

      expect((await stackUp(s3Spec)).map((c) => c.state)).toEqual(["started"]);
      expect(await s3proxyCredentials(s3Dir, 18333)).toEqual(credentials);
      const kept = await client.send(new GetObjectCommand({ Bucket: "stack-test", Key: "kept" }));
      expect(await kept.Body?.transformToString()).toBe("kept across restarts");
    } finally {
      client.destroy();
    }
  });

  it("tells a stack that never ran S3Proxy, in one line, where storage comes from instead", async () => {
    await expect(s3proxyCredentials(`${s3Dir}-never`, 18333)).rejects.toThrow(
      /^no S3 credentials in .*: the local stack has not started S3Proxy; run quikchat stack up, or set S3_ENDPOINT and its credentials$/,
    );
  });
});
