import type avro from "avsc";
import type { SchemaRegistryClient } from "./schema-registry-client.js";

/** One record type this process writes or reads, with the subject it is registered under. */
export interface CodecRecord {
  readonly fullName: string;
  readonly subject: string;
  /** The self-contained schema as written in `schemas/` (defaults, docs and logical types kept). */
  readonly schema: object;
  readonly type: avro.Type;
}

/** A record decoded from Confluent wire format. */
export interface DecodedValue {
  readonly fullName: string;
  readonly schemaId: number;
  readonly value: unknown;
}

/** A value that does not match its schema, with the paths that are wrong. */
export class AvroEncodeError extends Error {
  constructor(
    readonly fullName: string,
    readonly paths: readonly string[],
  ) {
    super(`value does not match ${fullName}: invalid ${paths.length > 0 ? paths.join(", ") : "value"}`);
    this.name = "AvroEncodeError";
  }
}

/** Bytes that are not a Confluent-framed Avro record this registry knows. */
export class AvroDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AvroDecodeError";
  }
}

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/**
 * Encodes and decodes records in the Confluent wire format (magic byte 0, big-endian schema
 * id, Avro binary body).
 *
 * Writing uses the local schema of a record and the id it was registered under. Reading
 * fetches the writer's schema by id from the registry and resolves it into the local reader
 * schema of the same full name, so a consumer built against an older or newer version of a
 * record still reads it; records this process has no local schema for are read with the
 * writer's own schema. Resolvers are built once per writer id.
 */
export class AvroCodec {
  private readonly records = new Map<string, CodecRecord>();
  private readonly ids = new Map<string, number>();
  private readonly readers = new Map<number, { fullName: string; read(body: Buffer): unknown }>();

  constructor(
    private readonly registry: SchemaRegistryClient,
    records: Iterable<CodecRecord>,
  ) {
    for (const record of records) this.records.set(record.fullName, record);
  }

  /** Registers every local record type (idempotent) so that `encode` knows its id. */
  async registerAll(): Promise<void> {
    for (const record of this.records.values()) {
      this.ids.set(record.fullName, await this.registry.register(record.subject, record.schema));
    }
  }

  /** Frames `value` as `fullName`; `registerAll` must have run. */
  encode(fullName: string, value: unknown): Buffer {
    const record = this.records.get(fullName);
    const id = this.ids.get(fullName);
    if (record === undefined || id === undefined) throw new Error(`no registered schema for ${fullName}`);
    const paths: string[] = [];
    if (!record.type.isValid(value, { errorHook: (path) => paths.push(path.join(".")) })) {
      throw new AvroEncodeError(fullName, paths);
    }
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeInt32BE(id, 1);
    return Buffer.concat([header, record.type.toBuffer(value)]);
  }

  /** Decodes a framed record; throws `AvroDecodeError` for anything else. */
  async decode(buffer: Buffer | null | undefined): Promise<DecodedValue> {
    if (!buffer || buffer.length < HEADER_BYTES || buffer.readUInt8(0) !== MAGIC_BYTE) {
      throw new AvroDecodeError("not a Confluent-framed Avro record");
    }
    const schemaId = buffer.readInt32BE(1);
    const reader = await this.readerFor(schemaId);
    try {
      return { fullName: reader.fullName, schemaId, value: reader.read(buffer.subarray(HEADER_BYTES)) };
    } catch (error) {
      throw new AvroDecodeError(`record body does not match schema ${schemaId} (${reader.fullName})`, { cause: error });
    }
  }

  private async readerFor(schemaId: number): Promise<{ fullName: string; read(body: Buffer): unknown }> {
    const cached = this.readers.get(schemaId);
    if (cached) return cached;
    let writer: avro.Type;
    try {
      writer = await this.registry.schemaById(schemaId);
    } catch (error) {
      throw new AvroDecodeError(`unknown schema id ${schemaId}`, { cause: error });
    }
    const fullName = writer.name ?? "anonymous";
    const local = this.records.get(fullName)?.type;
    let reader: { fullName: string; read(body: Buffer): unknown };
    if (local === undefined || local.equals(writer)) {
      reader = { fullName, read: (body): unknown => writer.fromBuffer(body) };
    } else {
      const resolver = local.createResolver(writer);
      reader = { fullName, read: (body): unknown => local.fromBuffer(body, resolver) };
    }
    this.readers.set(schemaId, reader);
    return reader;
  }
}
