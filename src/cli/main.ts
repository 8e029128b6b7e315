import { Argument, Command, Option } from "commander";
import { CONTEXT_MODULES, loadConfig, settingsOf, type Config } from "../contexts/index.js";
import { usedDependencies } from "../platform/context-module.js";
import { ConfigError } from "../platform/config/config-slice.js";
import { projectVersion } from "../platform/config/project.js";
import { createLogger } from "../infra/log/logger.js";
import { StackError, stackDown, stackStatus, stackUp, type ComponentStatus } from "../infra/stack/stack.js";
import { bootstrapContract, contractCodec } from "./bootstrap.js";
import { UnreachableDependencyError, waitForDependencies } from "./dependency-wait.js";
import { developmentToken, parseTtl, TokenToolError } from "./dev-token.js";
import { OPERATOR_ROLE, OPERATOR_ROLE_CLAIM } from "../console/operator-access.js";
import {
  formatRebuildResult,
  formatStatus,
  openProjectionTools,
  ProjectionToolError,
  type ProjectionTools,
} from "./projection-tools.js";
import { stackSpecFromConfig } from "./stack-spec.js";
import { ROLES, start, type Role } from "./start.js";
import { registerAggregateShow } from "./aggregate-show.js";
import { registerDlqTools } from "./dlq-tools.js";
import { registerEventsTail } from "./events-tail.js";
import { registerGroupsLag } from "./groups-lag.js";
import { ToolError } from "./tool-error.js";
import { jsonLine, progressBar, type Progress } from "./tool-output.js";
import { registerExport } from "./topic-export.js";
import { registerTrace } from "./trace.js";
import { toolKit } from "./command-bus-tool.js";

function config(): Config {
  return loadConfig(process.env);
}

function printComponents(components: readonly ComponentStatus[]): void {
  for (const c of components) {
    const extra = [c.version, c.pid === undefined ? undefined : `pid ${c.pid}`, c.ms === undefined ? undefined : `${c.ms} ms`, c.detail]
      .filter(Boolean)
      .join(", ");
    console.log(`${c.name.padEnd(9)} ${c.state.padEnd(8)} ${c.address}${extra ? `  (${extra})` : ""}`);
  }
}

const program = new Command("quikchat")
  .description("QuikChat Realtime: roles and operator tools")
  .version(projectVersion(), "-V, --version", "print the version");

program
  .command("start")
  .description("run the service (brings up the local stack first when QUIKCHAT_STACK=auto)")
  .addOption(new Option("--role <role>", "which role this process plays").choices(ROLES).default("all"))
  .action(async (options: { role: Role }) => {
    const cfg = config();
    const logger = createLogger({ level: cfg.service.logLevel, name: "quikchat", nodeId: cfg.service.nodeId });
    await start(cfg, logger, options.role);
  });

const stack = program.command("stack").description("the local stack: Kafka, Apicurio Registry, mongo-java-server, Redis, MariaDB, coturn");
const log = (line: string) => console.error(line);
stack.command("up").description("start what is not running (idempotent)").action(async () => {
  printComponents(await stackUp(stackSpecFromConfig(config()), log));
});
stack.command("down").description("stop what the stack started (never the machine's own services)").action(async () => {
  printComponents(await stackDown(stackSpecFromConfig(config()), log));
});
stack.command("status").description("show each component").action(async () => {
  printComponents(await stackStatus(stackSpecFromConfig(config())));
});

program
  .command("bootstrap")
  .description("create missing topics and register every schema")
  .action(async () => {
    const cfg = config();
    const logger = createLogger({ level: cfg.service.logLevel, name: "quikchat-bootstrap" });
    await waitForDependencies(cfg, ["kafka", "schema_registry"], logger);
    const result = await bootstrapContract(cfg, logger);
    console.log(`topics created: ${result.createdTopics.length}, subjects registered: ${result.subjects}`);
  });

program
  .command("token")
  .description("print a JWT for a user, signed with JWT_SECRET (development and tests; refused in production)")
  .addArgument(new Argument("<userId>", "the token's subject (sub)"))
  .option("--workspace <id>", "its workspace_id", "default")
  .option("--ttl <duration>", "how long it is valid: seconds, or a number with s, m, h or d", "1h")
  .option("--operator", `with the operator role ("${OPERATOR_ROLE_CLAIM}": ["${OPERATOR_ROLE}"]): signs in to the web console at /console`, false)
  .action(async (userId: string, options: { workspace: string; ttl: string; operator: boolean }) => {
    const roles = options.operator ? [OPERATOR_ROLE] : [];
    console.log(await developmentToken(config(), { userId, workspaceId: options.workspace, ttlSeconds: parseTtl(options.ttl), roles }));
  });

/**
 * Runs `work` with the projection tools once their dependencies answer; `access: "write"` (a
 * rebuild) first makes sure the topics and schemas exist, `"read"` (a status) changes nothing.
 */
async function withProjectionTools<T>(access: "read" | "write", work: (tools: ProjectionTools) => Promise<T>): Promise<T> {
  const cfg = config();
  const logger = createLogger({ level: cfg.service.logLevel, name: "quikchat-projections" });
  await waitForDependencies(cfg, usedDependencies(CONTEXT_MODULES, (module) => settingsOf(cfg, module)), logger);
  const { codec } = access === "write" ? await bootstrapContract(cfg, logger) : contractCodec(cfg);
  const tools = await openProjectionTools(cfg, logger, codec);
  try {
    return await work(tools);
  } finally {
    await tools.close();
  }
}

const projections = program.command("projections").description("every projection of every context: status, rebuild, reset");
projections
  .command("status")
  .description("each projection's checkpoint, the topic's high watermark and the lag, per partition (read-only)")
  .option("--json", "one JSON object per partition (and per missing topic)", false)
  .action(async (options: { json: boolean }) => {
    const statuses = await withProjectionTools("read", (tools) => tools.status());
    if (!options.json) {
      console.log(formatStatus(statuses));
      return;
    }
    for (const { projection, partitions, missingTopic } of statuses) {
      if (missingTopic !== undefined) console.log(jsonLine({ projection, topic: missingTopic, missing: true }));
      for (const partition of partitions) console.log(jsonLine({ projection, ...partition, checkpoint: partition.checkpoint ?? null }));
    }
  });
projections
  .command("rebuild")
  .description("clear a read model and its checkpoints, then replay its topic without pushing anything (stop the projector roles first)")
  .addArgument(new Argument("<projection>", "the projection to rebuild (see `projections status`)"))
  .action(async (name: string) => {
    let bar: Progress | undefined;
    const result = await withProjectionTools("write", (tools) =>
      tools.rebuild(name, ({ read, total, applied }) => {
        bar ??= progressBar(name, total, " | {applied} events applied");
        bar.update(read, { applied });
      }),
    ).finally(() => bar?.stop());
    console.log(formatRebuildResult(name, result));
  });
projections
  .command("reset")
  .description("move a projection back to the beginning of its topic: clear its read model with its checkpoints, and let the projector replay it when it starts (stop the projector roles first)")
  .addArgument(new Argument("<projection>", "the projection to reset (see `projections status`)"))
  .action(async (name: string) => {
    const topic = await withProjectionTools("write", (tools) => tools.reset(name));
    console.log(`${name}: read model and checkpoints cleared; the projector replays ${topic} from the beginning when it starts`);
  });

registerEventsTail(program, config);
registerTrace(program, config);
registerAggregateShow(program, config);
registerDlqTools(program, config);
registerGroupsLag(program, config);
registerExport(program, config);
for (const module of CONTEXT_MODULES) module.tools?.(program, toolKit(config));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Expected failures are one line; anything else keeps its stack for a bug report.
  const expected = [ConfigError, StackError, ProjectionToolError, TokenToolError, UnreachableDependencyError, ToolError];
  if (expected.some((type) => error instanceof type)) {
    console.error(`quikchat: ${(error as Error).message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
}
