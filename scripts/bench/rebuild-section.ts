/**
 * Row 6: projection rebuild speed. MessageSent events are written to a fresh prefix's
 * `quikapp.messages.events` (./kafka-seed.ts), then `quikchat projections rebuild history` runs
 * as an operator runs it; its own final line gives the events applied and the seconds the replay
 * took (the read model cleared, the topic read and applied to MySQL).
 */
import { readFileSync } from "node:fs";
import { attempt, type Context } from "./context.js";
import type { KafkaSeedApi } from "./kafka-seed.js";
import { forkWorker, spawnLogged } from "./processes.js";
import { failed, int, row, type Row } from "./report.js";
import { epochMs } from "./stats.js";

interface RebuildMeasure {
  readonly events: number;
  readonly seedSeconds: number;
  readonly applied: number;
  readonly rebuildSeconds: number;
  readonly eventsPerSecond: number;
  /** The whole command: start, bootstrap, connections, rebuild, close. */
  readonly commandSeconds: number;
}

async function measure(context: Context): Promise<RebuildMeasure> {
  const prefix = `${context.prefix}rebuild.`;
  const events = context.plan.rebuildEvents;
  context.progress(`  writing ${int(events)} MessageSent events`);
  const seeder = await forkWorker<KafkaSeedApi>("./kafka-seed.ts", "seed-history");
  let seeded;
  try {
    seeded = await seeder.call("seedHistory", { prefix, count: events, conversations: Math.max(1, Math.round(events / 1_000)) });
  } finally {
    await seeder.stop();
  }
  if (seeded.failed > 0) throw new Error(`${seeded.failed} of ${events} events were not written`);
  context.progress(`  ${int(events)} events written in ${seeded.seconds.toFixed(1)} s; quikchat projections rebuild history`);
  const log = `${context.logDir}/rebuild.log`;
  const started = epochMs();
  const child = spawnLogged("projections-rebuild", process.execPath, ["bin/quikchat.cjs", "projections", "rebuild", "history"], log, {
    env: { ...process.env, KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: "warn", QUIKCHAT_STACK: "off" },
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exit) => resolve(exit)));
  const commandSeconds = (epochMs() - started) / 1000;
  const output = readFileSync(log, "utf8");
  // formatRebuildResult: "history: N events applied from T in S s (R events/s…)"
  const line = /history: (\d+) events applied from \S+ in ([\d.]+) s \((\d+) events\/s/.exec(output);
  if (code !== 0 || line === null) throw new Error(`rebuild exited ${code}: ${output.trim().split("\n").slice(-3).join(" | ").slice(-300)}`);
  return { events, seedSeconds: seeded.seconds, applied: Number(line[1]), rebuildSeconds: Number(line[2]), eventsPerSecond: Number(line[3]), commandSeconds };
}

export async function rebuildSection(context: Context): Promise<Row[]> {
  context.progress(`6. history projection rebuild from ${int(context.plan.rebuildEvents)} events`);
  const result = await attempt(() => measure(context));
  context.raw.rebuild = result instanceof Error ? { error: result.message } : result;
  return [
    row("6", `projection rebuild: history from ${int(context.plan.rebuildEvents)} MessageSent events (1,000 per conversation), MySQL`, {
      ours:
        result instanceof Error
          ? failed(result)
          : `${int(result.eventsPerSecond)} events/s (${int(result.applied)} applied in ${result.rebuildSeconds.toFixed(1)} s; command ${result.commandSeconds.toFixed(1)} s)`,
    }),
  ];
}
