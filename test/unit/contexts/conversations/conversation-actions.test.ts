import { describe, expect, it } from "vitest";
import { conversationActions } from "../../../../src/contexts/conversations/channels/conversation-actions.js";
import { MESSAGE_LIMITS } from "../../../../src/contexts/conversations/domain/messages/decide.js";
import type { CommandMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../../src/platform/gateway/command-bus.js";
import { ServiceError } from "../../../../src/platform/errors/error-codes.js";
import type { SocketIdentity } from "../../../../src/platform/phoenix/channel.js";

const alice: SocketIdentity = { userId: "alice", workspaceId: "w1", connectionId: "k1", tokenExpiresAt: 0 };

/** A bus that records what would be produced and answers as the processor would. */
const meta = (by: { userId: string; workspaceId: string }, commandId = "cmd-1"): CommandMeta => ({
  commandId,
  correlationId: commandId,
  actorId: by.userId,
  workspaceId: by.workspaceId,
  issuedAt: 1,
  replyTo: "node",
});

/** A bus that refuses every command as the processor would. */
const refusingBus = (error: ServiceError) => ({ meta, request: () => Promise.reject(error) }) as unknown as CommandBus;

function recordingBus(answer: (type: string) => Readonly<Record<string, unknown>> = () => ({ id: "m", seq: 1 })) {
  const sent: { type: string; command: Record<string, unknown> }[] = [];
  const bus = {
    meta,
    request: (_context: string, type: string, _key: string, command: Record<string, unknown>) => {
      sent.push({ type, command });
      return Promise.resolve(answer(type));
    },
  } as unknown as CommandBus;
  return { bus, sent };
}

describe("conversation pushes become commands", () => {
  it("carries the mentions and metadata the client sends", async () => {
    const { bus, sent } = recordingBus();
    const reply = await conversationActions(bus).handle(
      "send",
      "c1",
      { content: "hi @bob", clientMsgId: "x1", mentionedUserIds: ["bob"], metadata: { preview: "https://example.com" } },
      alice,
    );
    expect(reply).toEqual({ status: "ok", response: { id: "m", seq: 1 } });
    expect(sent[0]?.command).toMatchObject({ content: "hi @bob", mentionedUserIds: ["bob"], metadata: { preview: "https://example.com" } });
    await conversationActions(bus).handle("edit", "c1", { messageId: "m", content: "hi @carol", mentionedUserIds: ["carol"] }, alice);
    expect(sent[1]).toMatchObject({ type: "EditMessage", command: { mentionedUserIds: ["carol"] } });
  });

  it("applies the domain's content rule before sending: code points, not UTF-16 units", async () => {
    const { bus, sent } = recordingBus();
    const actions = conversationActions(bus);
    const longest = "😀".repeat(MESSAGE_LIMITS.maxContentLength);
    expect((await actions.handle("send", "c1", { content: longest }, alice)).status).toBe("ok");
    const tooLong = await actions.handle("send", "c1", { content: `${longest}!` }, alice);
    expect(tooLong).toEqual({ status: "error", response: { reason: "invalid", message: "a message has at most 10000 characters" } });
    expect(sent).toHaveLength(1);
  });

  it("names the missing or mistyped field", async () => {
    const { bus, sent } = recordingBus();
    const actions = conversationActions(bus);
    expect(await actions.handle("send", "c1", { body: "hi" }, alice)).toEqual({ status: "error", response: { reason: "invalid", message: "content is required" } });
    expect(await actions.handle("send", "c1", { content: 5 }, alice)).toEqual({ status: "error", response: { reason: "invalid", message: "content must be a string" } });
    expect((await actions.handle("send", "c1", { content: "hi", mentionedUserIds: "bob" }, alice)).response).toMatchObject({ message: "mentionedUserIds must be a list" });
    expect((await actions.handle("send", "c1", { content: "hi", mentionedUserIds: ["bob", "bob"] }, alice)).response).toMatchObject({ reason: "invalid" });
    expect(sent).toEqual([]);
  });

  it("answers a refusal of the processor with its code, and an internal one without its message", async () => {
    const refusing = conversationActions(refusingBus(new ServiceError("forbidden", "only its sender may edit a message")));
    expect(await refusing.handle("edit", "c1", { messageId: "m", content: "x" }, alice)).toEqual({
      status: "error",
      response: { reason: "forbidden", message: "only its sender may edit a message" },
    });
    const broken = conversationActions(refusingBus(new ServiceError("internal", "the command could not be processed")));
    expect(await broken.handle("delete", "c1", { messageId: "m" }, alice)).toEqual({ status: "error", response: { reason: "internal", message: "internal error" } });
  });

  it("answers typing pushes not_available until a typing context provides them", async () => {
    const { bus } = recordingBus();
    expect(await conversationActions(bus).handle("typing_start", "c1", {}, alice)).toEqual({ status: "error", response: { reason: "not_available" } });
  });
});
