import { InvalidArgumentError, type Command } from "commander";
import type { ToolKit } from "../../platform/context-module.js";
import { OPERATOR_ACTOR, sessionCommands } from "./session-commands.js";

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** An instant (epoch ms) from an ISO time or a duration from now (`90s`, `30m`, `8h`, `7d`, plain seconds). */
export function parseInstant(text: string, now = Date.now()): number {
  const duration = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (duration) return now + Number(duration[1]) * UNIT_SECONDS[duration[2] || "s"]! * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgumentError("give an ISO time (2026-12-03T20:00:00Z) or a duration from now (90s, 30m, 8h, 7d)");
  return at;
}

/** `quikchat users disconnect|refresh`: what an operator does to a user's live connections, on every gateway. */
export function userTools(program: Command, kit: ToolKit): void {
  const users = program.command("users").description("a user's live connections, on every gateway: disconnect (and revoke its tokens), refresh");
  users
    .command("disconnect")
    .description("close every socket of a user on every gateway (code 4003: clients reconnect); with --revoke-tokens, its tokens issued before now are refused until they expire")
    .argument("<userId>", "the user (the tokens' sub)")
    .option("--revoke-tokens", "refuse the user's tokens issued before now, so that the client cannot reconnect before it has a newer one", false)
    .option("--workspace <id>", "the user's workspace, recorded in the command and its event", "default")
    .action(async (userId: string, options: { revokeTokens: boolean; workspace: string }) => {
      const by = { userId: OPERATOR_ACTOR, workspaceId: options.workspace };
      const { tokensRevokedBefore } = await kit.withCommandBus((bus) => sessionCommands(bus).disconnect({ userId, revokeTokens: options.revokeTokens, by }));
      const tokens = tokensRevokedBefore === null ? "its tokens are accepted" : `its tokens issued before ${new Date(tokensRevokedBefore).toISOString()} are refused until they expire`;
      console.log(`${userId}: disconnected on every gateway; ${tokens}`);
    });
  users
    .command("refresh")
    .description("move the end of a user's live connections' authentication: they close with 4001 then, unless their clients refresh their tokens in band")
    .argument("<userId>", "the user (the tokens' sub)")
    .requiredOption("--until <time>", "an ISO time, or a duration from now (90s, 30m, 8h, 7d)", (text: string) => parseInstant(text))
    .option("--connection <id>", "one connection of the user (its presence connection id); every one when absent")
    .option("--workspace <id>", "the user's workspace, recorded in the command and its event", "default")
    .action(async (userId: string, options: { until: number; connection?: string; workspace: string }) => {
      const by = { userId: OPERATOR_ACTOR, workspaceId: options.workspace };
      await kit.withCommandBus((bus) => sessionCommands(bus).refresh({ userId, connectionId: options.connection ?? null, expiresAt: options.until, by }));
      console.log(`${userId}: ${options.connection ?? "every connection"} authenticated until ${new Date(options.until).toISOString()}`);
    });
}
