/**
 * `npm run bench [-- --quick] [--rows 1,3] [--connections N] [--fanout-sockets N] [--rebuild-events N]`
 *
 * The benchmark of DESIGN.md §12: builds the service, brings up (or reuses) the local stack,
 * starts `quikchat start` (every role) and two `--role gateway` processes on a topic prefix of
 * the run's own, drives Phoenix-protocol WebSocket clients from separate client processes, runs
 * a bare `ws` broadcast server, a Socket.IO server and the Kafka produce→consume floor as
 * baselines in the same run, and prints one table (markdown), also written with the raw results
 * and the machine to bench-results/bench.json. Progress goes to stderr, service logs to
 * bench-results/logs/. A row that fails shows its error and the run goes on. Every child
 * process is stopped on exit and on Ctrl-C; the run's topics, subjects and tables are removed.
 *
 * Sections (`--rows`): 1 latency at fixed rates and 2 the sustained rate (run together),
 * 3 fan-out, 4 idle memory, 5 presence, 6 projection rebuild, 7 call setup and offer relay
 * (`--rows 7` measures calls alone), 8 notify latency (message event → APNs and FCM stand-ins,
 * with the default batching window and the smallest; it starts a service of its own per window,
 * so `--rows 8` starts no other).
 * `--quick` (about 7 minutes): 3 s per rate and one search step, a fan-out room of 5,000 sockets
 * and 20 messages, 20,000 idle connections, 15 presence samples, 100,000 events to rebuild, 30
 * calls, 2 counted messages per conversation of row 8; the full run: 20 s per rate, 10,000 sockets
 * and 100 messages, 40,000 connections over 4 gateways, 200 samples, 1,000,000 events, 200 calls,
 * 5 messages per conversation. Each rate step of rows 1-2 also reads, from /proc, the CPU every
 * process spent (the service's, the stack's servers', the client processes', the machine's):
 * the cost rows. `PROFILE_DIR=dir` profiles the service processes (--cpu-prof) and prints the
 * budget of one message by stage over those rate steps after the table (./budget-report.ts).
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/contexts/index.js";
import { serviceBudget } from "./budget-report.js";
import { callsSection } from "./calls-section.js";
import { attempt, makePlan, type Context, type Ours } from "./context.js";
import { fanoutSection } from "./fanout-section.js";
import { latencySection } from "./latency-section.js";
import { memorySection } from "./memory-section.js";
import { notifySection } from "./notify-section.js";
import { presenceSection } from "./presence-section.js";
import { processMark, runningProcesses, stopAllProcesses, stopProcessesSince } from "./processes.js";
import { rebuildSection } from "./rebuild-section.js";
import { failed, machine, machineLine, openFilesLimit, renderTable, row, type Row } from "./report.js";
import { removeRunData } from "../../test/support/run-data.js";
import { build, isStale, runPrefix, stackUp, startService } from "./service.js";

const OUT_DIR = "bench-results";
/** Sections that start the service they measure themselves: run alone, the shared service processes are not started. */
const OWN_SERVICE = new Set(["8"]);
const LOG_DIR = `${OUT_DIR}/logs`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rows: { type: "string" },
    connections: { type: "string" },
    "fanout-sockets": { type: "string" },
    "rebuild-events": { type: "string" },
  },
});
const argv = process.argv.slice(2);
const command = process.env.npm_lifecycle_event === "bench" ? `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}` : `tsx scripts/bench/run.ts ${argv.join(" ")}`.trim();

/**
 * The open-files limit is per process and inherited: when the soft limit is below the hard one,
 * the benchmark runs itself again under `ulimit -n <hard>` (never above what the machine allows).
 */
function raiseOpenFilesLimit(): boolean {
  const { soft, hard } = openFilesLimit();
  if (soft >= hard || !Number.isFinite(hard) || process.env.BENCH_OPEN_FILES_RAISED === "1") return false;
  const child = spawn("sh", ["-c", `ulimit -n ${hard} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_OPEN_FILES_RAISED: "1" },
  });
  process.on("SIGINT", () => undefined); // the child gets it too, and ends the run itself
  child.once("exit", (code) => process.exit(code ?? 1));
  return true;
}

const progress = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  const startedMs = Date.now();
  const info = machine(command);
  const config = loadConfig(process.env);
  const count = (flag: "connections" | "fanout-sockets" | "rebuild-events") => {
    const text = flags[flag];
    if (text === undefined) return undefined;
    const n = Number(text.replaceAll(",", "").replaceAll("_", ""));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${flag} must be a positive whole number, not ${text}`);
    return n;
  };
  const [connections, fanoutSockets, rebuildEvents] = [count("connections"), count("fanout-sockets"), count("rebuild-events")];
  const plan = makePlan(flags.quick, {
    ...(connections === undefined ? {} : { connections }),
    ...(fanoutSockets === undefined ? {} : { fanoutSockets }),
    ...(rebuildEvents === undefined ? {} : { rebuildEvents }),
    openFiles: info.openFilesLimit.soft,
  });
  const sections = new Set((flags.rows ?? "1,2,3,4,5,6,7,8").split(",").map((s) => s.trim()));
  const prefix = runPrefix(startedMs);
  rmSync(LOG_DIR, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  progress(machineLine(info));

  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const output = (interrupted: boolean) => {
    const finishedMs = Date.now();
    const result = { command, machine: info, quick: plan.quick, plan, prefix, startedAt: new Date(startedMs).toISOString(), seconds: Math.round((finishedMs - startedMs) / 1000), interrupted, rows, raw };
    writeFileSync(`${OUT_DIR}/bench.json`, `${JSON.stringify(result, (_, value: unknown) => (value instanceof Float64Array ? undefined : value), 2)}\n`);
    console.log(`\n${machineLine(info)}; took ${Math.round((finishedMs - startedMs) / 1000)} s${interrupted ? "; INTERRUPTED" : ""}\n`);
    // In section order (sections run in another order: see `run` below).
    const order = (r: Row) => Number(/^\d+/.exec(r.section)?.[0] ?? 0);
    console.log(renderTable([...rows].sort((a, b) => order(a) - order(b))));
    console.log(`\nWritten to ${OUT_DIR}/bench.json; service logs in ${LOG_DIR}/.`);
  };
  const cleanUp = async () => {
    await stopAllProcesses();
    progress(`removed this run's data: ${await removeRunData(config, "bench", (name) => name.startsWith(prefix)).catch((e: unknown) => failed(e))}`);
  };
  // On Ctrl-C: the table so far, then children stopped and data removed; the sections still
  // running fail fast (their processes are gone) and main waits for this to exit the process.
  let interrupted: Promise<never> | undefined;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    progress(`${signal}: stopping ${runningProcesses().length} child processes`);
    output(true);
    interrupted = cleanUp().then(
      () => process.exit(130),
      () => process.exit(130),
    );
  };
  process.on("SIGINT", () => interrupt("SIGINT"));
  process.on("SIGTERM", () => interrupt("SIGTERM"));

  // Without a build or a stack there is no service to measure; the baselines still run.
  const prepared = await attempt(async () => {
    progress("building the service");
    await build(`${LOG_DIR}/build.log`);
    progress("local stack");
    for (const line of (await stackUp()).split("\n")) progress(`  ${line}`);
    progress(`removing data of bench runs over an hour old: ${await removeRunData(config, "bench", (name) => isStale(name, startedMs)).catch((e: unknown) => failed(e))}`);
  });
  const ours =
    prepared instanceof Error
      ? prepared
      : [...sections].every((id) => OWN_SERVICE.has(id))
        ? new Error("not started: the rows selected start services of their own")
        : await attempt(async (): Promise<Ours> => {
            progress(`starting quikchat (all roles) and 2 gateway processes, prefix ${prefix}`);
            const core = await startService("quikchat-all", "all", prefix, LOG_DIR);
            const gateways = await Promise.all([0, 1].map((i) => startService(`gateway-${i}`, "gateway", prefix, LOG_DIR)));
            return { core, gateways };
          });
  const context: Context = { plan, prefix, logDir: LOG_DIR, config, prepared: prepared instanceof Error ? prepared : undefined, ours, raw, serviceSteps: [], progress };

  // Memory last: its 20,000+ connections leave the most work behind (presence changes) when they go.
  const run: [string[], (context: Context) => Promise<Row[]>][] = [
    [["1", "2"], latencySection],
    [["5"], presenceSection],
    [["7"], callsSection],
    [["8"], notifySection],
    [["3"], fanoutSection],
    [["6"], rebuildSection],
    [["4"], memorySection],
  ];
  for (const [ids, section] of run) {
    if (!ids.some((id) => sections.has(id))) continue;
    const started = Date.now();
    const mark = processMark();
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), plan.sectionLimitMs)));
    try {
      const result = await Promise.race([section(context), outOfTime]);
      if (result === "timeout") {
        rows.push(row(ids.join(", "), "section", { ours: `error: did not finish within ${plan.sectionLimitMs / 1000} s (its processes were stopped)` }));
        await stopProcessesSince(mark);
      } else {
        rows.push(...result);
      }
    } catch (error) {
      rows.push(row(ids.join(", "), "section failed", { ours: failed(error) }));
    } finally {
      clearTimeout(timer);
    }
    progress(`  section ${ids.join(", ")} took ${Math.round((Date.now() - started) / 1000)} s`);
    if (interrupted) return interrupted;
  }
  if (interrupted) return interrupted;
  await cleanUp();
  // The service processes write their profiles as they exit: only now can they be read.
  const budget = process.env.PROFILE_DIR && !(ours instanceof Error) && context.serviceSteps.length > 0
    ? await attempt(async () => serviceBudget(process.env.PROFILE_DIR!, [ours.core, ...ours.gateways].map((p) => p.pid), context.serviceSteps))
    : undefined;
  if (budget !== undefined) raw.budget = budget instanceof Error ? { error: budget.message } : budget.raw;
  output(false);
  if (budget !== undefined) console.log(`\n${budget instanceof Error ? `Budget of one message: ${failed(budget)}` : budget.text}`);
}

if (!raiseOpenFilesLimit()) {
  try {
    await main();
    process.exit(0);
  } catch (error) {
    console.error(error);
    await stopAllProcesses();
    process.exit(1);
  }
}
