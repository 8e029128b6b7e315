import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findQuarkusRunJar } from "../../../../src/infra/stack/apicurio-registry.js";
import { withStackLock } from "../../../../src/infra/stack/lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "stack-unit-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("stack lock", () => {
  it("lets concurrent holders take turns", async () => {
    const events: string[] = [];
    const hold = (name: string) =>
      withStackLock(dir, async () => {
        events.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push(`${name} out`);
      });
    await Promise.all([hold("a"), hold("b")]);
    expect(events).toHaveLength(4);
    expect(events[1]).toBe(`${events[0]?.split(" ")[0]} out`);
    await expect(readFile(join(dir, ".lock"))).rejects.toThrow();
  });

  it("breaks a lock left by a process that is gone", async () => {
    await writeFile(join(dir, ".lock"), "2147483646\n0\n");
    await expect(withStackLock(dir, () => Promise.resolve("ran"), 2_000)).resolves.toBe("ran");
  });

  it("gives up with a message naming the holder", async () => {
    await writeFile(join(dir, ".lock"), `${process.pid}\n0\n`);
    await expect(withStackLock(dir, () => Promise.resolve(), 300)).rejects.toThrow(`another stack command (pid ${process.pid}) holds`);
  });
});

describe("Apicurio distribution layout", () => {
  it("finds quarkus-run.jar at the root or in a versioned folder", async () => {
    await writeFile(join(dir, "quarkus-run.jar"), "");
    expect(await findQuarkusRunJar(dir)).toBe(join(dir, "quarkus-run.jar"));

    const nested = join(dir, "nested");
    await mkdir(join(nested, "apicurio-registry-3.1.0", "lib"), { recursive: true });
    await writeFile(join(nested, "apicurio-registry-3.1.0", "quarkus-run.jar"), "");
    expect(await findQuarkusRunJar(nested)).toBe(join(nested, "apicurio-registry-3.1.0", "quarkus-run.jar"));
    expect(await findQuarkusRunJar(join(nested, "apicurio-registry-3.1.0", "lib"))).toBeUndefined();
  });
});
