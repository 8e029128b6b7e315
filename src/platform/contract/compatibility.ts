/**
 * Schema evolution checks with avsc's schema resolution: can data written with one version
 * of a schema be read with another?
 */
import avro from "avsc";

/** A schema as JSON (object, array or name) or an already parsed avsc type. */
export type SchemaInput = avro.Type | object | string;

/** The outcome of comparing two versions of a schema. */
export interface CompatibilityResult {
  /** A reader using the next schema can read data written with the previous one. */
  readonly backward: boolean;
  /** A reader still using the previous schema can read data written with the next one. */
  readonly forward: boolean;
  /** Why a direction fails, each prefixed with the direction and the path of the culprit. */
  readonly reasons: readonly string[];
}

/**
 * The rule for every command and event of QuikChat: FULL, both directions, between each
 * version and the one before. Consumers built against the previous version keep running
 * (data teams, replay tooling, processors mid-deploy) while producers move to the next.
 */
export const COMPATIBILITY_RULE = "FULL";

function toType(schema: SchemaInput): avro.Type {
  return avro.Type.isType(schema) ? (schema as avro.Type) : avro.Type.forSchema(schema as avro.Schema);
}

interface EnumLike {
  readonly symbols: readonly string[];
  readonly default?: string;
}

function canResolve(reader: avro.Type, writer: avro.Type): unknown {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * Explains why `reader` cannot read `writer` by descending to the deepest part that fails,
 * so that a reason names the field (`fields.meta.occurredAt`) rather than the whole record.
 */
function explain(reader: avro.Type, writer: avro.Type, path: string): string[] {
  const err = canResolve(reader, writer);
  if (err === undefined) return [];
  const at = path === "" ? "(root)" : path;
  if (reader.typeName === "record" && writer.typeName === "record" && reader.name === writer.name) {
    const readerFields = (reader as avro.types.RecordType).fields;
    const writerFields = (writer as avro.types.RecordType).fields;
    const reasons: string[] = [];
    for (const field of readerFields) {
      const names = [field.name, ...(field.aliases ?? [])];
      const match = writerFields.find((candidate) => names.includes(candidate.name));
      const fieldPath = path === "" ? field.name : `${path}.${field.name}`;
      if (match === undefined) {
        if (field.defaultValue() === undefined) {
          reasons.push(`${fieldPath}: the reader requires this field, the writer does not have it, and it has no default`);
        }
      } else {
        reasons.push(...explain(field.type, match.type, fieldPath));
      }
    }
    if (reasons.length > 0) return reasons;
  }
  if (reader.typeName === "enum" && writer.typeName === "enum" && reader.name === writer.name) {
    const readerEnum = reader as unknown as EnumLike;
    const unknown = (writer as unknown as EnumLike).symbols.filter((symbol) => !readerEnum.symbols.includes(symbol));
    if (unknown.length > 0 && readerEnum.default === undefined) {
      return [`${at}: symbols ${unknown.join(", ")} are unknown to the reader, whose enum ${reader.name ?? ""} has no default`];
    }
  }
  if (reader.typeName === "array" && writer.typeName === "array") {
    return explain((reader as avro.types.ArrayType).itemsType, (writer as avro.types.ArrayType).itemsType, `${path}[]`);
  }
  if (reader.typeName === "map" && writer.typeName === "map") {
    return explain((reader as avro.types.MapType).valuesType as avro.Type, (writer as avro.types.MapType).valuesType as avro.Type, `${path}{}`);
  }
  return [`${at}: ${err instanceof Error ? err.message : "cannot be resolved"}`];
}

/**
 * Compares two versions of a schema with avsc resolvers. `backward` holds when
 * `next.createResolver(previous)` succeeds (new readers read old data), `forward` when
 * `previous.createResolver(next)` does (old readers read new data). Pure; throws only when a
 * schema itself is invalid.
 */
export function checkCompatibility(previous: SchemaInput, next: SchemaInput): CompatibilityResult {
  const prev = toType(previous);
  const nxt = toType(next);
  const backwardReasons = explain(nxt, prev, "").map((reason) => `backward (next reads previous): ${reason}`);
  const forwardReasons = explain(prev, nxt, "").map((reason) => `forward (previous reads next): ${reason}`);
  return {
    backward: canResolve(nxt, prev) === undefined,
    forward: canResolve(prev, nxt) === undefined,
    reasons: [...backwardReasons, ...forwardReasons],
  };
}

/** Whether a comparison satisfies {@link COMPATIBILITY_RULE} (both directions). */
export function isFullyCompatible(result: CompatibilityResult): boolean {
  return result.backward && result.forward;
}
