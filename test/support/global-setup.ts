import { loadConfig } from "../../src/contexts/index.js";
import { stackUp } from "../../src/infra/stack/stack.js";
import { stackSpecFromConfig } from "../../src/cli/stack-spec.js";
import { ensureChromium } from "./browser-install.js";
import { removeRunData } from "./run-data.js";

/**
 * Brings up the local stack once per test run (reusing whatever already runs), so the
 * integration and end-to-end tests always talk to real servers. Left running afterwards:
 * the next run starts warm. Installs the browser of the console's tests when the machine lacks it. Every topic (and subject, table, Redis key) a test creates is named
 * `test.r<run start>.<label>.…`;
 * the teardown deletes this run's, and the setup those of runs that started over an hour ago
 * (interrupted before their teardown), so a long-lived development broker does not fill up
 * while concurrent runs keep their topics.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // Each project of the run that talks to the stack lists this setup: the first prepares the run,
  // the others share it, and the last teardown removes the run's data.
  const shared = process as typeof process & { [RUN]?: { prepared: Promise<() => Promise<void>>; users: number } };
  shared[RUN] ??= { prepared: prepareRun(), users: 0 };
  const run = shared[RUN];
  run.users += 1;
  const teardown = await run.prepared;
  return async () => {
    run.users -= 1;
    if (run.users === 0) await teardown();
  };
}

const RUN = Symbol.for("quikchat.test-run");

async function prepareRun(): Promise<() => Promise<void>> {
  const config = loadConfig(process.env);
  const started = Math.floor(Date.now() / 1000);
  const run = `test.r${started}.`;
  process.env.QUIKCHAT_TEST_RUN = run;
  if (config.stack.mode === "auto") {
    const components = await stackUp(stackSpecFromConfig(config), (line) => console.log(`[stack] ${line}`));
    console.log(
      `[stack] ready in ${Date.now() - started * 1000} ms: ${components.map((c) => `${c.name} ${c.state}`).join(", ")}`,
    );
  }
  const stale = (name: string) => {
    if (!name.startsWith("test.")) return false;
    const runStart = /^test\.r(\d+)\./.exec(name)?.[1];
    return runStart === undefined || Number(runStart) < started - 3_600;
  };
  await removeRunData(config, "test", stale);
  // The console's browser tests drive Debian's chromium: installed here, once, where it is missing.
  ensureChromium((line) => console.log(line));
  return async () => {
    await removeRunData(config, "test", (name) => name.startsWith(run));
  };
}
