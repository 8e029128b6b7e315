import { describe, expect, it } from "vitest";
import type { SocketIdentity } from "../../../../src/platform/phoenix/channel.js";
import type { CommandBus } from "../../../../src/platform/gateway/command-bus.js";
import { typingSignals } from "../../../../src/contexts/typing/channels/typing-signals.js";

const alice: SocketIdentity = { userId: "alice", workspaceId: "w1", connectionId: "c1", tokenExpiresAt: 0 };

function fakeBus() {
  const sent: { type: string; key: string; replyTo: unknown }[] = [];
  const bus = {
    meta: (by: { userId: string; workspaceId: string }, commandId = "id", options: { expectReply?: boolean } = {}) => ({
      commandId,
      correlationId: commandId,
      actorId: by.userId,
      workspaceId: by.workspaceId,
      issuedAt: 0,
      replyTo: options.expectReply === false ? null : "node",
    }),
    dispatch: (_context: string, type: string, key: string, command: { meta: { replyTo: unknown } }) => {
      sent.push({ type, key, replyTo: command.meta.replyTo });
      return Promise.resolve();
    },
  };
  return { sent, bus: bus as unknown as CommandBus };
}

describe("typing signals", () => {
  it("forwards one start per window, answers the repeats at once (free of charge), and always forwards a stop", async () => {
    let now = 0;
    const { sent, bus } = fakeBus();
    const typing = typingSignals(bus, { coalesceMs: 2_000 }, undefined, () => now);
    expect(await typing.start("c1", alice)).toEqual({ status: "ok", response: {} });
    now = 500;
    expect(await typing.start("c1", alice)).toEqual({ status: "ok", response: { coalesced: true }, free: true });
    now = 2_100;
    await typing.start("c1", alice);
    await typing.stop("c1", alice);
    now = 2_200;
    await typing.start("c1", alice);
    expect(sent.map((s) => s.type)).toEqual(["StartTyping", "StartTyping", "StopTyping", "StartTyping"]);
    // Keyed by conversation (the typing aggregate), and nobody waits for an outcome.
    expect(sent.every((s) => s.key === "c1" && s.replyTo === null)).toBe(true);
  });
});
