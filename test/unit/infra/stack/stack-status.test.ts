import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { componentStatus, pidFileIn, type Answer, type Component } from "../../../../src/infra/stack/component.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "stack-status-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A component whose process, when the stack "started" it, is this test process (its command line holds `node`). */
function component(answer: Answer): Component {
  return {
    name: "kafka",
    host: "127.0.0.1",
    port: 1,
    version: "3.9.1",
    dir,
    logFile: join(dir, "log"),
    marker: "node",
    elsewhere: "set KAFKA_BROKERS to a broker",
    label: "Kafka 3.9.1",
    startTimeoutMs: 1_000,
    stopGraceMs: 1_000,
    answers: () => Promise.resolve(answer),
    launch: () => Promise.reject(new Error("status never launches")),
  };
}

const startedByThisStack = () => writeFile(pidFileIn(dir), `${process.pid}\n`);

describe("stack status", () => {
  it("says running, with the pid, for a server this stack started that answers", async () => {
    await startedByThisStack();
    expect(await componentStatus(component({ ok: true, version: "3.9.1" }))).toMatchObject({ state: "running", pid: process.pid, version: "3.9.1" });
  });

  it("says starting for a server this stack started that does not answer yet", async () => {
    await startedByThisStack();
    expect(await componentStatus(component({ ok: false }))).toMatchObject({ state: "starting", pid: process.pid });
  });

  it("says reused for a server something else started, and down when nothing answers", async () => {
    const reused = await componentStatus(component({ ok: true }));
    expect(reused).toMatchObject({ state: "reused", detail: "not started by this stack" });
    expect(reused.pid).toBeUndefined();
    expect(await componentStatus(component({ ok: false }))).toMatchObject({ state: "down" });
  });
});
