import { describe, expect, it } from "vitest";
import { projectVersion } from "../../../src/platform/config/project.js";
import { runCli } from "../../support/service-process.js";

describe("quikchat --version", () => {
  it("prints the version of package.json and exits 0", async () => {
    for (const flag of ["--version", "-V"]) {
      const run = runCli([flag], {});
      expect(await run.exited).toBe(0);
      expect(run.output()).toBe(`${projectVersion()}\n`);
    }
  });
});
