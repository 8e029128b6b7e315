/**
 * Loads the Avro contract in `schemas/`: one `.avsc` per command and event, plus the shared
 * named types of `schemas/common/`. Each command and event comes out self-contained (shared
 * types inlined), parsed by avsc, and placed on its topic and registry subject.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import avro from "avsc";
import { projectRoot } from "../config/project.js";
import { ContextSpecError, loadContextSpecs, type ContextSpec } from "./context-specs.js";
import { topicName } from "./topic-names.js";
import type { ContextName } from "./topics.js";

/** A JSON value as found in an `.avsc` file. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A JSON object as found in an `.avsc` file. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** Namespace of the shared types in `schemas/common/`. */
export const COMMON_NAMESPACE = "quikchat.common";

/** Full names of the metadata records every event and command starts with. */
export const EVENT_META = "quikchat.common.EventMeta";
export const COMMAND_META = "quikchat.common.CommandMeta";

/** Whether a record is a command (on the commands topic) or an event (on the events topic). */
export type RecordKind = "command" | "event";

/** The text of one `.avsc` file and where it came from (a path, or `commit:path` in history). */
export interface SchemaSource {
  readonly file: string;
  readonly text: string;
}

/** A command or event record of the contract. */
export interface CatalogRecord {
  /** `quikchat.<context>.<Name>`, e.g. `quikchat.messages.MessageSent`. */
  readonly fullName: string;
  /** The record name, e.g. `MessageSent`; unique within the context. */
  readonly name: string;
  readonly context: ContextName;
  readonly kind: RecordKind;
  /** The topic it is written to: the context's commands or events topic. */
  readonly topic: string;
  /** Registry subject in topic-record naming: `${topic}-${fullName}`. */
  readonly subject: string;
  /** Field whose value is the Kafka key (the context's key field, declared as `partitionKey`). */
  readonly keyField: string;
  /** Path of the `.avsc` file relative to the repository root, with `/` separators. */
  readonly file: string;
  /**
   * The schema with every shared type inlined at its first use: self-contained, with docs,
   * logical types and `partitionKey` kept, ready to register as is.
   */
  readonly schema: JsonObject;
  /** The parsed avsc type (logical types are read as their underlying type: epoch ms as `number`). */
  readonly type: avro.Type;
}

/** A shared named type of `schemas/common/` (records and enums referenced by full name). */
export interface CommonType {
  readonly fullName: string;
  readonly name: string;
  readonly file: string;
  /** The definition as written (references to other common types not inlined). */
  readonly schema: JsonObject;
}

/** A schema file that is malformed, misplaced, or breaks a contract rule; names the file. */
export class SchemaCatalogError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${detail}`, options);
    this.name = "SchemaCatalogError";
  }
}

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const NAMED = new Set(["record", "error", "enum", "fixed"]);

/** Whether a JSON value is an object (not an array, not null). */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The full name an Avro name resolves to: names containing a dot are already full; others
 * take the explicit namespace, else the enclosing one.
 */
export function fullNameOf(name: string, namespace: string | undefined, enclosing: string): string {
  if (name.includes(".")) return name;
  const ns = namespace ?? enclosing;
  return ns === "" ? name : `${ns}.${name}`;
}

function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf(".");
  return dot < 0 ? "" : fullName.slice(0, dot);
}

/** Parses the JSON of an `.avsc` file; a syntax error names the file. */
export function parseSchemaSource(source: SchemaSource): JsonValue {
  try {
    return JSON.parse(source.text) as JsonValue;
  } catch (err) {
    throw new SchemaCatalogError(source.file, `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads the shared types: each file must hold one named type of namespace `quikchat.common`
 * named after the file. Returns them by full name.
 */
export function commonDefinitions(sources: readonly SchemaSource[]): Map<string, JsonObject> {
  const definitions = new Map<string, JsonObject>();
  for (const source of sources) {
    const schema = parseSchemaSource(source);
    if (!isJsonObject(schema) || typeof schema["type"] !== "string" || !NAMED.has(schema["type"])) {
      throw new SchemaCatalogError(source.file, "a shared type must be a record, enum or fixed");
    }
    const name = schema["name"];
    const expected = basename(source.file, ".avsc");
    if (name !== expected || schema["namespace"] !== COMMON_NAMESPACE) {
      throw new SchemaCatalogError(source.file, `must define "name": "${expected}", "namespace": "${COMMON_NAMESPACE}"`);
    }
    definitions.set(`${COMMON_NAMESPACE}.${expected}`, schema);
  }
  return definitions;
}

/**
 * Returns a copy of `schema` where the first reference (in Avro parsing order) to each shared
 * type is replaced by its definition, recursively; later references stay names, as Avro
 * requires a name to be defined once per schema. Pure.
 */
export function inlineSharedTypes(schema: JsonValue, shared: ReadonlyMap<string, JsonObject>): JsonValue {
  const defined = new Set<string>();

  const visit = (node: JsonValue, enclosing: string): JsonValue => {
    if (typeof node === "string") {
      if (PRIMITIVES.has(node)) return node;
      const full = fullNameOf(node, undefined, enclosing);
      const definition = shared.get(full);
      if (definition === undefined || defined.has(full)) return node;
      return visit(definition, enclosing);
    }
    if (Array.isArray(node)) return node.map((branch: JsonValue) => visit(branch, enclosing));
    if (!isJsonObject(node)) return node;

    const type = node["type"];
    const copy: Record<string, JsonValue> = { ...node };
    let namespace = enclosing;
    if (typeof type === "string" && NAMED.has(type) && typeof node["name"] === "string") {
      const ns = node["namespace"];
      const full = fullNameOf(node["name"], typeof ns === "string" ? ns : undefined, enclosing);
      defined.add(full);
      namespace = namespaceOf(full);
    }
    if (type === "record" || type === "error") {
      const fields = node["fields"];
      if (Array.isArray(fields)) {
        copy["fields"] = fields.map((field: JsonValue) =>
          isJsonObject(field) && field["type"] !== undefined ? { ...field, type: visit(field["type"], namespace) } : field,
        );
      }
    } else if (type === "array" && node["items"] !== undefined) {
      copy["items"] = visit(node["items"], namespace);
    } else if (type === "map" && node["values"] !== undefined) {
      copy["values"] = visit(node["values"], namespace);
    } else if (type !== undefined && typeof type !== "string") {
      // `{"type": {...}}` or `{"type": [...]}` wrapping another schema.
      copy["type"] = visit(type, namespace);
    } else if (typeof type === "string" && !NAMED.has(type) && !PRIMITIVES.has(type)) {
      // `{"type": "quikchat.common.X"}`: a reference written as an object.
      copy["type"] = visit(type, namespace);
    }
    return copy;
  };

  return visit(schema, "");
}

/** Parses a self-contained schema with avsc; a failure names the file. */
export function parseAvroType(schema: JsonValue, file: string): avro.Type {
  try {
    return avro.Type.forSchema(schema as avro.Schema);
  } catch (err) {
    throw new SchemaCatalogError(file, `not a valid Avro schema: ${(err as Error).message}`, { cause: err });
  }
}

function listAvsc(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith(".avsc")) found.push(path);
    }
  };
  walk(dir);
  // Code-unit order, not locale order, so every machine generates the same output.
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** All `.avsc` files under `<root>/schemas`, as paths relative to `root` with `/` separators, sorted. */
export function schemaFiles(root: string): string[] {
  return listAvsc(join(root, "schemas")).map((path) => relative(root, path).split(sep).join("/"));
}

interface RecordLocation {
  readonly context: ContextName;
  readonly kind: RecordKind;
  readonly name: string;
  readonly keyField: string;
}

/**
 * Where a schema file belongs: `schemas/common/<Name>.avsc` is shared (returns "common"),
 * `schemas/<context>/commands|events/<Name>.avsc` a record. Anything else is an error.
 */
export function locateSchemaFile(file: string, specs: ReadonlyMap<string, ContextSpec>): RecordLocation | "common" {
  const parts = file.split("/");
  if (parts[0] !== "schemas") throw new SchemaCatalogError(file, "schema files live under schemas/");
  if (parts.length === 3 && parts[1] === "common") return "common";
  const [, context, folder, fileName] = parts;
  if (parts.length !== 4 || context === undefined || fileName === undefined || (folder !== "commands" && folder !== "events")) {
    throw new SchemaCatalogError(file, "expected schemas/common/<Name>.avsc or schemas/<context>/{commands,events}/<Name>.avsc");
  }
  const spec = specs.get(context);
  if (spec === undefined) throw new SchemaCatalogError(file, `unknown context "${context}" (a context's folder holds a context.json)`);
  const kind: RecordKind = folder === "commands" ? "command" : "event";
  if (kind === "command" && spec.upstream) {
    throw new SchemaCatalogError(file, `${context} is an upstream context: it has events only`);
  }
  // Contexts are the folders of schemas/: a new one is a ContextName once the types are generated.
  return { context: context as ContextName, kind, name: basename(fileName, ".avsc"), keyField: spec.keyField };
}

function fieldsOf(schema: JsonObject): readonly JsonObject[] {
  const fields = schema["fields"];
  return Array.isArray(fields) ? fields.filter(isJsonObject) : [];
}

/** Checks the contract rules a record file must follow before it is parsed. */
function checkRecordShape(schema: JsonValue, location: RecordLocation, file: string): asserts schema is JsonObject {
  if (!isJsonObject(schema) || schema["type"] !== "record") throw new SchemaCatalogError(file, "must be a record schema");
  const namespace = `quikchat.${location.context}`;
  if (schema["name"] !== location.name || schema["namespace"] !== namespace) {
    throw new SchemaCatalogError(file, `must define "name": "${location.name}", "namespace": "${namespace}"`);
  }
  if (typeof schema["doc"] !== "string" || schema["doc"] === "") throw new SchemaCatalogError(file, "the record needs a doc");
  const meta = location.kind === "command" ? COMMAND_META : EVENT_META;
  const fields = fieldsOf(schema);
  const first = fields[0];
  if (first?.["name"] !== "meta" || first["type"] !== meta) {
    throw new SchemaCatalogError(file, `the first field must be {"name": "meta", "type": "${meta}"}`);
  }
  const { keyField } = location;
  if (schema["partitionKey"] !== keyField) {
    throw new SchemaCatalogError(file, `must declare "partitionKey": "${keyField}" (the key of every ${location.context} topic)`);
  }
  const key = fields.find((field) => field["name"] === keyField);
  if (key?.["type"] !== "string") throw new SchemaCatalogError(file, `the key field ${keyField} must be a string field`);
}

/** Where to read the contract from. */
export interface CatalogOptions {
  /** Repository root holding `schemas/`; defaults to the root found from this module (under tsx or compiled). */
  readonly root?: string;
}

/**
 * Reads, validates and parses every `.avsc` under `<root>/schemas` and returns the commands
 * and events, ordered by context (by name), commands first, then by name. Throws a
 * {@link SchemaCatalogError} naming the file on the first malformed or misplaced schema,
 * unknown context, missing or wrong `meta` first field, wrong `partitionKey`, or a schema avsc
 * refuses. Synchronous (start-up, build and tests); reads the files on every call.
 */
export function loadSchemaCatalog(options: CatalogOptions = {}): readonly CatalogRecord[] {
  return readContract(options.root ?? projectRoot()).records;
}

/** The shared types of `schemas/common/`, ordered by name, each checked to parse. Throws like {@link loadSchemaCatalog}. */
export function loadCommonTypes(options: CatalogOptions = {}): readonly CommonType[] {
  return readContract(options.root ?? projectRoot()).common;
}

function readContract(root: string): { records: CatalogRecord[]; common: CommonType[] } {
  let specs: ReadonlyMap<string, ContextSpec>;
  try {
    specs = loadContextSpecs(root);
  } catch (error) {
    if (error instanceof ContextSpecError) throw new SchemaCatalogError(error.file, error.message.slice(error.file.length + 2), { cause: error });
    throw error;
  }
  const files = schemaFiles(root);
  const read = (file: string): SchemaSource => ({ file, text: readFileSync(join(root, file), "utf8") });

  const commonFiles = files.filter((file) => locateSchemaFile(file, specs) === "common");
  const shared = commonDefinitions(commonFiles.map(read));
  const common: CommonType[] = commonFiles.map((file) => {
    const name = basename(file, ".avsc");
    const fullName = `${COMMON_NAMESPACE}.${name}`;
    const schema = shared.get(fullName);
    if (schema === undefined) throw new SchemaCatalogError(file, "shared type not loaded");
    parseAvroType(inlineSharedTypes(schema, shared), file);
    return { fullName, name, file, schema };
  });

  const records: CatalogRecord[] = [];
  for (const file of files) {
    const location = locateSchemaFile(file, specs);
    if (location === "common") continue;
    const raw = parseSchemaSource(read(file));
    checkRecordShape(raw, location, file);
    const schema = inlineSharedTypes(raw, shared) as JsonObject;
    const type = parseAvroType(schema, file);
    // locateSchemaFile rejected commands of upstream contexts, which have no commands topic.
    const topic = topicName(location.context, location.kind === "event" ? "events" : "commands");
    const fullName = `quikchat.${location.context}.${location.name}`;
    const duplicate = records.find((record) => record.fullName === fullName);
    if (duplicate !== undefined) throw new SchemaCatalogError(file, `${fullName} is already defined by ${duplicate.file}`);
    records.push({
      fullName,
      name: location.name,
      context: location.context,
      kind: location.kind,
      topic,
      subject: `${topic}-${fullName}`,
      keyField: location.keyField,
      file,
      schema,
      type,
    });
  }

  const order = [...specs.keys()];
  records.sort((a, b) => compareRecords(order, a, b));
  common.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { records, common };
}

function compareRecords(order: readonly string[], a: CatalogRecord, b: CatalogRecord): number {
  return (
    order.indexOf(a.context) - order.indexOf(b.context) ||
    (a.kind === b.kind ? 0 : a.kind === "command" ? -1 : 1) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}
