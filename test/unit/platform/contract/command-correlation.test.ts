import { describe, expect, it } from "vitest";
import { correlated } from "../../../../src/platform/contract/command-correlation.js";

const meta = { commandId: "cmd-1", correlationId: "cmd-1", actorId: "alice", workspaceId: "w1", issuedAt: 1, replyTo: null };

describe("a command's correlation id", () => {
  it("is the callId for every command of a call and of its signals, whoever issued it", () => {
    expect(correlated("calls", "call-7", { meta, callId: "call-7" }).meta).toEqual({ ...meta, correlationId: "call-7" });
    expect(correlated("signaling", "call-7", { meta, callId: "call-7", toUserId: "bob" }).meta.correlationId).toBe("call-7");
  });

  it("stays the client action's own in the other contexts", () => {
    const command = { meta, conversationId: "c1" };
    expect(correlated("messages", "c1", command)).toBe(command);
  });
});
