import { defineConfig } from "vitest/config";

// Tests that start the service in their own process (all roles) hold several node-rdkafka
// consumers, whose waiting fetches each occupy a libuv thread; with libuv's default four, the
// test's own zlib, fs and DNS work queued behind them (a registry answer took 450 ms to
// decompress). The worker processes inherit this, as `bin/quikchat.cjs` sets it for the service.
process.env.UV_THREADPOOL_SIZE ??= "64";

/**
 * Files that run alone, after everything else: they kill processes, start a second broker or
 * gateway, measure how long something takes to be noticed, drive a browser or relay media, so
 * another file's load on the two cores would blur what they check.
 */
const ALONE = [
  "test/integration/infra/stack.test.ts",
  "test/integration/platform/processor-runtime.test.ts",
  "test/e2e/crash-recovery.test.ts",
  "test/e2e/calls-crash.test.ts",
  "test/e2e/calls-operations.test.ts",
  "test/e2e/calls-webrtc.test.ts",
  "test/e2e/notifier.test.ts",
  "test/e2e/comments.test.ts",
  "test/e2e/console.test.ts",
  "test/e2e/conversations-read-model-behind.test.ts",
  "test/e2e/presence-gateways.test.ts",
  "test/e2e/presence-redis-loss.test.ts",
  "test/e2e/start.test.ts",
  "test/e2e/unreachable-dependencies.test.ts",
];

// Three projects: `unit` runs pure code with no infrastructure; `integration` (adapters, e2e)
// talks to the real local stack, which test/support/global-setup.ts brings up once per run, two
// files at a time (every file names its topics, tables and keys after itself and takes free
// ports); `alone` runs the files above one by one once both are done.
const stack = {
  environment: "node" as const,
  globalSetup: ["test/support/global-setup.ts"],
  testTimeout: 60_000,
  hookTimeout: 180_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...stack,
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          exclude: ALONE,
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...stack,
          name: "alone",
          include: ALONE,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
