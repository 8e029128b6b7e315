import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import avro from "avsc";
import { afterEach, describe, expect, it } from "vitest";
import { loadCommonTypes, loadSchemaCatalog, SchemaCatalogError, type CatalogRecord, type JsonObject, type JsonValue } from "../../../../src/platform/contract/schema-catalog.js";
import { ALL_TOPICS, CONTEXTS, CONTEXT_SPECS } from "../../../../src/platform/contract/topics.js";
import { loadContextSpecs } from "../../../../src/platform/contract/context-specs.js";
import { renderAvroTypes } from "../../../../src/platform/contract/avro-typegen.js";

const records = loadSchemaCatalog();
const events = records.filter((record) => record.kind === "event");
const commands = records.filter((record) => record.kind === "command");

const TIMESTAMP = { type: "long", logicalType: "timestamp-millis" };
const OPTIONAL_STRING = { type: ["null", "string"], default: null };

/** The fields of EventMeta and CommandMeta that every consumer relies on, in order (docs aside). */
const EVENT_META_FIELDS = [
  { name: "eventId", type: "string" },
  { name: "occurredAt", type: TIMESTAMP },
  { name: "correlationId", type: "string" },
  { name: "causationId", ...OPTIONAL_STRING },
  { name: "actorId", type: "string" },
  { name: "workspaceId", type: "string" },
];
const COMMAND_META_FIELDS = [
  { name: "commandId", type: "string" },
  { name: "correlationId", type: "string" },
  { name: "actorId", type: "string" },
  { name: "workspaceId", type: "string" },
  { name: "issuedAt", type: TIMESTAMP },
  { name: "replyTo", ...OPTIONAL_STRING },
];

function fields(schema: JsonValue | undefined): JsonObject[] {
  const list = (schema as JsonObject | undefined)?.["fields"];
  return Array.isArray(list) ? (list as JsonObject[]) : [];
}

function withoutDocs(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(withoutDocs);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "doc").map(([key, v]) => [key, withoutDocs(v)]));
  }
  return value;
}

/** A schema attribute as text, for assertion labels. */
function text(value: JsonValue | undefined): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "undefined";
}

function field(record: CatalogRecord, name: string): JsonObject | undefined {
  return fields(record.schema).find((f) => f["name"] === name);
}

/** Every named definition and every union anywhere in a schema. */
function walk(node: JsonValue, visit: (node: JsonValue, parent: JsonObject | undefined) => void, parent?: JsonObject): void {
  visit(node, parent);
  if (Array.isArray(node)) (node as readonly JsonValue[]).forEach((branch) => walk(branch, visit, parent));
  else if (node !== null && typeof node === "object") {
    const object = node as JsonObject;
    for (const f of fields(object)) walk(f["type"] ?? null, visit, f);
    for (const key of ["items", "values"]) if (object[key] !== undefined) walk(object[key], visit, parent);
    if (typeof object["type"] === "object") walk(object["type"], visit, parent);
  }
}

describe("the schema catalog", () => {
  it("has commands and events for every context, and events only for upstream ones", () => {
    for (const context of CONTEXTS) {
      const ofContext = records.filter((record) => record.context === context);
      expect(ofContext.some((record) => record.kind === "event"), `${context} events`).toBe(true);
      expect(ofContext.some((record) => record.kind === "command"), `${context} commands`).toBe(!CONTEXT_SPECS[context].upstream);
    }
  });

  it("covers the features the product documents name", () => {
    const names = new Set(records.map((record) => record.fullName));
    const expected = [
      "messages.SendMessage", "messages.EditMessage", "messages.DeleteMessage", "messages.AddReaction",
      "messages.RemoveReaction", "messages.MarkRead", "messages.MarkDelivered", "messages.MessageSent",
      "messages.MessageEdited", "messages.MessageDeleted", "messages.ReactionAdded", "messages.ReactionRemoved",
      "messages.MessageRead", "messages.MessageDelivered",
      "conversations.ConversationCreated", "conversations.MemberAdded", "conversations.MemberRemoved",
      "presence.UserOnline", "presence.UserOffline", "presence.StatusChanged", "presence.ExpirePresence",
      "typing.TypingStarted", "typing.TypingStopped", "typing.ExpireTyping",
      "calls.CallStarted", "calls.CallAnswered", "calls.CallRejected", "calls.CallEnded", "calls.RecordingStarted",
      "calls.RecordingStopped", "calls.ExpireRinging", "calls.ExpireCallDuration",
      "signaling.OfferRelayed", "signaling.AnswerRelayed", "signaling.IceCandidateRelayed",
      "huddlesignaling.HuddleOfferRelayed", "huddlesignaling.HuddleAnswerRelayed", "huddlesignaling.HuddleIceCandidateRelayed",
      "huddles.HuddleCreated", "huddles.AudioToggled", "huddles.HandRaised", "huddles.HuddleEnded",
      "notifications.NotificationSent", "notifications.NotificationDelivered", "notifications.NotificationFailed",
      "devices.DeviceRegistered", "devices.DeviceTokenUpdated", "devices.DeviceUnregistered", "devices.DeviceHeartbeatRecorded",
      "users.UserCreated", "users.UserUpdated", "users.UserDeleted",
    ];
    for (const name of expected) expect(names.has(`quikchat.${name}`), name).toBe(true);
  });

  it("holds self-contained schemas that avsc parses on their own", () => {
    for (const record of records) {
      const reparsed = avro.Type.forSchema(JSON.parse(JSON.stringify(record.schema)) as avro.Schema);
      expect(reparsed.name, record.file).toBe(record.fullName);
      expect(JSON.stringify(record.schema), record.file).not.toMatch(/"type":"quikchat\.common\.(EventMeta|CommandMeta)"/);
    }
  });

  it("parses every shared type", () => {
    const common = loadCommonTypes();
    expect(common.map((type) => type.fullName)).toEqual(expect.arrayContaining(["quikchat.common.EventMeta", "quikchat.common.CommandMeta"]));
  });

  it("starts every event with meta: EventMeta, exactly the agreed fields", () => {
    for (const record of events) {
      const [first] = fields(record.schema);
      expect(first?.["name"], record.file).toBe("meta");
      const meta = first?.["type"] as JsonObject;
      expect(`${text(meta["namespace"])}.${text(meta["name"])}`, record.file).toBe("quikchat.common.EventMeta");
      expect(withoutDocs(fields(meta)), record.file).toEqual(EVENT_META_FIELDS);
    }
  });

  it("starts every command with meta: CommandMeta, exactly the agreed fields", () => {
    for (const record of commands) {
      const [first] = fields(record.schema);
      expect(first?.["name"], record.file).toBe("meta");
      const meta = first?.["type"] as JsonObject;
      expect(`${text(meta["namespace"])}.${text(meta["name"])}`, record.file).toBe("quikchat.common.CommandMeta");
      expect(withoutDocs(fields(meta)), record.file).toEqual(COMMAND_META_FIELDS);
    }
  });

  it("puts every record on a topic of the topic catalog, of its context and kind", () => {
    for (const record of records) {
      const topic = ALL_TOPICS.find((spec) => spec.name === record.topic);
      expect(topic, record.file).toBeDefined();
      expect(topic?.context, record.file).toBe(record.context);
      expect(topic?.kind, record.file).toBe(record.kind === "event" ? "events" : "commands");
    }
  });

  it("gives every record a unique subject in topic-record naming", () => {
    for (const record of records) expect(record.subject).toBe(`${record.topic}-${record.fullName}`);
    expect(new Set(records.map((record) => record.subject)).size).toBe(records.length);
  });

  it("names the key field in every record, a string field of the record", () => {
    for (const record of records) {
      const key = CONTEXT_SPECS[record.context].keyField;
      expect(record.keyField, record.file).toBe(key);
      expect(record.schema["partitionKey"], record.file).toBe(key);
      expect(field(record, key)?.["type"], record.file).toBe("string");
    }
  });

  it("carries the aggregate id in events keyed by another field, and seq in message events", () => {
    const aggregate: Partial<Record<string, string>> = { devices: "deviceId", notifications: "notificationId" };
    for (const record of events) {
      const id = aggregate[record.context];
      if (id !== undefined) expect(field(record, id)?.["type"], record.file).toBe("string");
      if (record.context === "messages") expect(field(record, "seq")?.["type"], record.file).toBe("long");
    }
  });

  it("documents every record and every named type", () => {
    for (const record of records) {
      walk(record.schema, (node) => {
        if (node !== null && typeof node === "object" && !Array.isArray(node)) {
          const object = node as JsonObject;
          if (["record", "enum", "fixed"].includes(text(object["type"]))) {
            expect(typeof object["doc"], `${record.file}: ${text(object["name"])}`).toBe("string");
          }
        }
      });
    }
  });

  it("writes optional fields as [\"null\", T] with default null, and gives enums a default", () => {
    for (const record of records) {
      walk(record.schema, (node, parent) => {
        if (Array.isArray(node) && node.includes("null")) {
          expect(node[0], `${record.file}: ${text(parent?.["name"])}`).toBe("null");
          expect(parent?.["default"], `${record.file}: ${text(parent?.["name"])}`).toBeNull();
        }
        if (node !== null && typeof node === "object" && !Array.isArray(node) && (node as JsonObject)["type"] === "enum") {
          // Without a default, adding a symbol would break readers of the previous version.
          expect((node as JsonObject)["default"], `${record.file}: ${text((node as JsonObject)["name"])}`).toBeDefined();
        }
      });
    }
  });

  it("round-trips a random valid value of every record through Avro binary", () => {
    for (const record of records) {
      const value: unknown = record.type.random();
      expect(record.type.isValid(value), record.file).toBe(true);
      const bytes = record.type.toBuffer(value);
      const decoded: unknown = record.type.fromBuffer(bytes);
      expect(record.type.isValid(decoded), record.file).toBe(true);
      expect(decoded, record.file).toEqual(value);
    }
  });

  it("rejects a value that misses the meta record", () => {
    const sent = records.find((record) => record.fullName === "quikchat.messages.MessageSent")!;
    const value = sent.type.random() as unknown as Record<string, unknown>;
    expect(sent.type.isValid({ ...value, meta: undefined })).toBe(false);
  });
});

describe("loading a broken contract", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  const common = {
    "schemas/messages/context.json": { doc: "messages", keyField: "conversationId", ephemeral: false, upstream: false },
    "schemas/users/context.json": { doc: "users", keyField: "userId", ephemeral: false, upstream: true },
    "schemas/common/EventMeta.avsc": {
      type: "record", name: "EventMeta", namespace: "quikchat.common", doc: "meta",
      fields: [{ name: "eventId", type: "string" }],
    },
  };
  const event = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: "record", name: "MessageSent", namespace: "quikchat.messages", doc: "sent", partitionKey: "conversationId",
    fields: [{ name: "meta", type: "quikchat.common.EventMeta" }, { name: "conversationId", type: "string" }],
    ...overrides,
  });

  function contract(files: Record<string, unknown>): string {
    root = mkdtempSync(join(tmpdir(), "quikchat-contract-"));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), typeof content === "string" ? content : JSON.stringify(content));
    }
    return root;
  }

  function failure(files: Record<string, unknown>): SchemaCatalogError {
    const dir = contract(files);
    try {
      loadSchemaCatalog({ root: dir });
    } catch (err) {
      expect(err).toBeInstanceOf(SchemaCatalogError);
      return err as SchemaCatalogError;
    }
    throw new Error("the contract loaded");
  }

  const FILE = "schemas/messages/events/MessageSent.avsc";

  it("loads a minimal valid contract", () => {
    const loaded = loadSchemaCatalog({ root: contract({ ...common, [FILE]: event() }) });
    expect(loaded.map((record) => record.subject)).toEqual(["quikapp.messages.events-quikchat.messages.MessageSent"]);
  });

  it.each([
    ["invalid JSON", { [FILE]: "{ not json" }, /invalid JSON/],
    ["a type avsc refuses", { [FILE]: event({ fields: [{ name: "meta", type: "quikchat.common.EventMeta" }, { name: "conversationId", type: "string" }, { name: "x", type: "strnig" }] }) }, /not a valid Avro schema/],
    ["a name that is not the file's", { [FILE]: event({ name: "MessagePosted" }) }, /"name": "MessageSent"/],
    ["a namespace that is not the context's", { [FILE]: event({ namespace: "quikchat.chat" }) }, /"namespace": "quikchat.messages"/],
    ["no meta first field", { [FILE]: event({ fields: [{ name: "conversationId", type: "string" }] }) }, /first field must be/],
    ["a wrong partitionKey", { [FILE]: event({ partitionKey: "messageId" }) }, /partitionKey/],
    ["a record without doc", { [FILE]: event({ doc: undefined }) }, /needs a doc/],
  ])("names the file on %s", (_label, files, message) => {
    const err = failure({ ...common, ...files });
    expect(err.file).toBe(FILE);
    expect(err.message).toContain(FILE);
    expect(err.message).toMatch(message);
  });

  it("takes a new context from its folder alone: its topics, subjects and generated types", () => {
    const dir = contract({
      ...common,
      [FILE]: event(),
      "schemas/probes/context.json": { doc: "Probes.", keyField: "probeId", ephemeral: true, upstream: false },
      "schemas/probes/events/ProbeSeen.avsc": event({
        name: "ProbeSeen",
        namespace: "quikchat.probes",
        partitionKey: "probeId",
        fields: [{ name: "meta", type: "quikchat.common.EventMeta" }, { name: "probeId", type: "string" }],
      }),
    });
    const loaded = loadSchemaCatalog({ root: dir });
    expect(loaded.map((record) => record.subject)).toContain("quikapp.probes.events-quikchat.probes.ProbeSeen");
    const generated = renderAvroTypes(loaded, loadContextSpecs(dir));
    expect(generated).toContain('probes: { keyField: "probeId", ephemeral: true, upstream: false, correlateByKey: false }');
    expect(generated).toContain("probes: ProbesEvent;");
  });

  it("refuses a file outside the layout, an unknown context and upstream commands", () => {
    expect(failure({ ...common, "schemas/messages/MessageSent.avsc": event() }).message).toMatch(/expected schemas\/common/);
    expect(failure({ ...common, "schemas/chat/events/MessageSent.avsc": event() }).message).toMatch(/unknown context "chat"/);
    expect(failure({ ...common, "schemas/users/commands/CreateUser.avsc": event() }).message).toMatch(/upstream context/);
    expect(failure({ ...common, "schemas/chat/context.json": { keyField: "chatId" } }).message).toMatch(/schemas\/chat\/context.json: expected \{"doc"/);
  });
});
