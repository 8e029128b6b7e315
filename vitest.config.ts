import { defineConfig } from "vitest/config";

// Tests that start the service in their own process (all roles) hold several node-rdkafka
// consumers, whose waiting fetches each occupy a libuv thread; with libuv's default four, the
// test's own zlib, fs and DNS work queued behind them (a registry answer took 450 ms to
// decompress). The worker processes inherit this, as `bin/quikchat.cjs` sets it for the service.
process.env.UV_THREADPOOL_SIZE ??= "32";

// Two projects: `unit` runs pure code with no infrastructure; `integration` (adapters, e2e)
// talks to the real local stack, which test/support/global-setup.ts brings up once per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
