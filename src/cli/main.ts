import { Command, Option } from "commander";
import { ConfigError, loadConfig, type Config } from "../config/config.js";
import { createLogger } from "../infra/log/logger.js";
import { StackError, stackDown, stackStatus, stackUp, type ComponentStatus } from "../infra/stack/stack.js";
import { bootstrapContract } from "./bootstrap.js";
import { stackSpecFromConfig } from "./stack-spec.js";
import { ROLES, start, type Role } from "./start.js";

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

const program = new Command("quikchat").description("QuikChat Realtime: roles and operator tools").showHelpAfterError();

program
  .command("start")
  .description("run the service (brings up the local stack first when QUIKCHAT_STACK=auto)")
  .addOption(new Option("--role <role>", "which role this process plays").choices(ROLES).default("all"))
  .action(async (options: { role: Role }) => {
    const cfg = config();
    const logger = createLogger({ level: cfg.service.logLevel, name: "quikchat", nodeId: cfg.service.nodeId });
    await start(cfg, logger, options.role);
  });

const stack = program.command("stack").description("the local stack: Kafka, Apicurio Registry, mongo-java-server, Redis, MariaDB");
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
    const result = await bootstrapContract(cfg, logger);
    console.log(`topics created: ${result.createdTopics.length}, subjects registered: ${result.subjects}`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Expected failures are one line; anything else keeps its stack for a bug report.
  if (error instanceof ConfigError || error instanceof StackError) {
    console.error(`quikchat: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
}
