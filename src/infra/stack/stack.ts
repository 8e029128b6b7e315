import { join } from "node:path";
import { registryComponent } from "./apicurio-registry.js";
import { componentDown, componentStatus, componentUp, type Component } from "./component.js";
import { coturnComponent, coturnDir } from "./coturn-server.js";
import { kafkaComponent } from "./kafka-broker.js";
import { withStackLock } from "./lock.js";
import { mariadbComponent } from "./mariadb-server.js";
import { mongoComponent } from "./mongo-java-server.js";
import { redisComponent } from "./redis-server.js";
import { s3proxyComponent, s3proxyDir } from "./s3proxy-server.js";
import type { ComponentStatus, StackLog, StackSpec } from "./types.js";

export { StackError } from "./stack-error.js";
export { startKafka, kafkaAnswers, type KafkaBroker, type KafkaBrokerOptions } from "./kafka-broker.js";
export { LOCAL_COTURN, coturnSecret } from "./coturn-server.js";
export { LOCAL_S3PROXY, s3proxyCredentials, type S3Credentials } from "./s3proxy-server.js";
export type { ComponentName, ComponentStatus, CoturnSpec, S3ProxySpec, StackLog, StackSpec } from "./types.js";

/** The components `spec` manages, in a fixed order; absent entries are someone else's servers. */
function components(spec: StackSpec): Component[] {
  const cacheDir = spec.cacheDir ?? join(spec.dir, "cache");
  const java = spec.javaHome === undefined ? {} : { javaHome: spec.javaHome };
  const list: Component[] = [];
  if (spec.kafka) {
    list.push(kafkaComponent({ ...spec.kafka, ...java, dataDir: join(spec.dir, `kafka-${spec.kafka.port}`), cacheDir }));
  }
  if (spec.registry) {
    list.push(registryComponent({ ...spec.registry, ...java, dir: join(spec.dir, `apicurio-${spec.registry.port}`), cacheDir }));
  }
  if (spec.mongo) list.push(mongoComponent({ ...spec.mongo, ...java, dir: join(spec.dir, `mongo-${spec.mongo.port}`), cacheDir }));
  if (spec.redis) list.push(redisComponent({ ...spec.redis, dir: join(spec.dir, `redis-${spec.redis.port}`) }));
  if (spec.mysql) list.push(mariadbComponent({ ...spec.mysql, dir: join(spec.dir, `mysql-${spec.mysql.port}`) }));
  if (spec.coturn) list.push(coturnComponent({ ...spec.coturn, dir: coturnDir(spec.dir, spec.coturn.port) }));
  if (spec.s3proxy) list.push(s3proxyComponent({ ...spec.s3proxy, ...java, dir: s3proxyDir(spec.dir, spec.s3proxy.port), cacheDir }));
  return list;
}

const quiet: StackLog = () => undefined;

/** Runs `op` on every component at once; rejects with the first failure after all have settled. */
async function each(list: Component[], op: (c: Component) => Promise<ComponentStatus>): Promise<ComponentStatus[]> {
  const settled = await Promise.allSettled(list.map(op));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ComponentStatus>).value);
}

/**
 * Makes every component in `spec` answer on its address: reuses servers that already answer
 * correctly ("reused"), starts the missing ones in parallel ("started") and waits until each
 * passes its readiness check (Kafka: a metadata request; registry: GET ccompat subjects 200;
 * mongo: `isMaster`; Redis: INFO; MariaDB: greeting, then CREATE DATABASE IF NOT EXISTS for each
 * database; coturn: a STUN Binding over UDP; S3Proxy: an unsigned request answered with an S3 error
 * document). Java servers and coturn are detached and outlive
 * the caller; their pid, log and data live in `<dir>/<component>-<port>/`. Holds `<dir>/.lock` so concurrent callers take turns.
 * Rejects with a one-line {@link StackError} for a port held by another program, a missing
 * prerequisite (java, mvn, redis-server, mariadbd; coturn is installed from Debian's package
 * when missing) or a server not ready in time (naming its log).
 */
export function stackUp(spec: StackSpec, log: StackLog = quiet): Promise<ComponentStatus[]> {
  return withStackLock(spec.dir, () => each(components(spec), (c) => componentUp(c, log)));
}

/**
 * Stops the processes this stack started for `spec` ("stopped"; SIGTERM, then SIGKILL after a
 * grace period), leaving servers it did not start running ("reused") — the machine's Redis and
 * MariaDB among them. Data directories are kept.
 */
export function stackDown(spec: StackSpec, log: StackLog = quiet): Promise<ComponentStatus[]> {
  return withStackLock(spec.dir, () => each(components(spec), (c) => componentDown(c, log)));
}

/**
 * Reports, without changing anything, each component of `spec`: "running" when this stack's
 * process answers (pid set), "starting" while it does not answer yet, "reused" when something
 * else answers there, "down" when nothing does.
 */
export function stackStatus(spec: StackSpec): Promise<ComponentStatus[]> {
  return each(components(spec), componentStatus);
}
