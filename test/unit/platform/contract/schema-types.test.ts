import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import { projectRoot } from "../../../../src/platform/config/project.js";
import { loadContextSpecs } from "../../../../src/platform/contract/context-specs.js";
import { GENERATED_TYPES_FILE, renderAvroTypes } from "../../../../src/platform/contract/avro-typegen.js";
import type {
  AvroEvents,
  AvroRecords,
  ContextCommands,
  EventMeta,
  MessageSent,
  MessagesCommand,
  MessageType,
  PresenceStatus,
  UsersCommand,
} from "../../../../src/platform/contract/generated/avro-types.js";
import { loadSchemaCatalog } from "../../../../src/platform/contract/schema-catalog.js";

/** The pattern deciders use: a switch on `type` that stops compiling when a command is added. */
function describeCommand(command: MessagesCommand): string {
  switch (command.type) {
    case "SendMessage":
      return `send ${command.data.type} seq-less message ${command.data.messageId}`;
    case "EditMessage":
    case "DeleteMessage":
    case "AddReaction":
    case "RemoveReaction":
      return `${command.type} ${command.data.messageId}`;
    case "MarkRead":
    case "MarkDelivered":
      return `${command.type} up to ${command.data.seq}`;
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}

describe("the generated Avro types", () => {
  it("are what the generator renders from schemas/ now (run npm run gen:types after a schema change)", () => {
    const onDisk = readFileSync(join(projectRoot(), GENERATED_TYPES_FILE), "utf8");
    expect(onDisk === renderAvroTypes(loadSchemaCatalog(), loadContextSpecs()), `${GENERATED_TYPES_FILE} is stale`).toBe(true);
  });

  it("render deterministically", () => {
    expect(renderAvroTypes(loadSchemaCatalog(), loadContextSpecs())).toBe(renderAvroTypes([...loadSchemaCatalog()].reverse(), loadContextSpecs()));
  });

  it("declare one interface per record", () => {
    const text = renderAvroTypes(loadSchemaCatalog(), loadContextSpecs());
    for (const record of loadSchemaCatalog()) expect(text, record.fullName).toContain(`export interface ${record.name} {`);
  });

  it("map Avro to TypeScript as documented", () => {
    expectTypeOf<MessageSent["seq"]>().toEqualTypeOf<number>();
    expectTypeOf<MessageSent["clientMsgId"]>().toEqualTypeOf<string | null>();
    expectTypeOf<MessageSent["type"]>().toEqualTypeOf<MessageType>();
    expectTypeOf<MessageType>().toEqualTypeOf<"text" | "image" | "file" | "audio" | "video" | "system">();
    expectTypeOf<PresenceStatus>().toEqualTypeOf<"online" | "away" | "dnd" | "offline">();
    expectTypeOf<MessageSent["mentionedUserIds"]>().toEqualTypeOf<string[]>();
    expectTypeOf<MessageSent["metadata"]>().toEqualTypeOf<Record<string, string>>();
    expectTypeOf<EventMeta["occurredAt"]>().toEqualTypeOf<number>();
    expectTypeOf<EventMeta["causationId"]>().toEqualTypeOf<string | null>();
    expectTypeOf<AvroRecords["quikchat.messages.MessageSent"]>().toEqualTypeOf<MessageSent>();
    expectTypeOf<AvroEvents["quikchat.messages.MessageSent"]>().toEqualTypeOf<MessageSent>();
    expectTypeOf<ContextCommands["messages"]>().toEqualTypeOf<MessagesCommand>();
    expectTypeOf<UsersCommand>().toBeNever();
  });

  it("discriminate each context's commands by type", () => {
    const command: MessagesCommand = {
      type: "MarkRead",
      data: {
        meta: { commandId: "c", correlationId: "k", actorId: "u1", workspaceId: "w", issuedAt: 0, replyTo: null },
        conversationId: "c1",
        seq: 7,
        messageId: null,
      },
    };
    expect(describeCommand(command)).toBe("MarkRead up to 7");
  });

  it("fit values the avsc types accept", () => {
    const sent = loadSchemaCatalog().find((record) => record.fullName === "quikchat.messages.MessageSent")!;
    const value: MessageSent = {
      meta: { eventId: "e1", occurredAt: 1_700_000_000_000, correlationId: "k", causationId: "c", actorId: "u1", workspaceId: "w" },
      conversationId: "c1",
      seq: 1,
      messageId: "m1",
      senderId: "u1",
      clientMsgId: null,
      type: "text",
      content: "hello",
      attachments: [],
      replyToMessageId: null,
      mentionedUserIds: [],
      metadata: {},
    };
    expect(sent.type.isValid(value)).toBe(true);
    expect(sent.type.fromBuffer(sent.type.toBuffer(value))).toEqual(value);
  });
});
