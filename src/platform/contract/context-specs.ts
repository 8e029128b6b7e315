import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../config/project.js";

/** Static facts about a context that decide its topics and partitioning: `schemas/<context>/context.json`. */
export interface ContextSpec {
  /** What the context is about, for the generated types and the docs. */
  readonly doc: string;
  /**
   * Record field whose value is the Kafka message key on every topic of the context. Commands
   * and events of a context are co-partitioned by it, so one partition owner sees every
   * command and event of an aggregate in order.
   */
  readonly keyField: string;
  /** Signals worthless after seconds (typing, WebRTC signaling): short retention on all its topics. */
  readonly ephemeral: boolean;
  /** Produced by another service: we only consume its events topic (no commands, state or DLQ). */
  readonly upstream: boolean;
  /**
   * Every command of the context carries its Kafka key (the aggregate id) as `meta.correlationId`,
   * whoever issues it (a gateway, a tool, a timer), and so do the events it causes: one
   * correlation id is the aggregate's whole life (a call: `quikchat trace <callId>`). Optional in
   * `context.json` (`"correlateByKey": true`); otherwise each client action is its own correlation.
   */
  readonly correlateByKey: boolean;
}

/** A `context.json` that is missing or malformed; names the file. */
export class ContextSpecError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "ContextSpecError";
  }
}

/** The folder of `schemas/` that holds shared types, not a context. */
const COMMON_FOLDER = "common";

/**
 * Every context the contract declares: each folder of `<root>/schemas` but `common` is a context
 * named after it, described by its `context.json`. In name order. Synchronous (build, start-up,
 * tests). Throws a {@link ContextSpecError} for a context folder without a valid `context.json`.
 */
export function loadContextSpecs(root: string = projectRoot()): ReadonlyMap<string, ContextSpec> {
  const schemas = join(root, "schemas");
  const names = readdirSync(schemas, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== COMMON_FOLDER)
    .map((entry) => entry.name)
    .sort();
  const specs = new Map<string, ContextSpec>();
  for (const name of names) {
    const file = `schemas/${name}/context.json`;
    if (!/^[a-z][a-z0-9]*$/.test(name)) throw new ContextSpecError(file, "a context's folder name is lower-case letters and digits");
    if (!existsSync(join(root, file))) {
      throw new ContextSpecError(file, `unknown context "${name}": a context's folder holds its context.json (its key field, and whether it is ephemeral or upstream)`);
    }
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(join(root, file), "utf8"));
    } catch (error) {
      throw new ContextSpecError(file, `invalid JSON: ${(error as Error).message}`);
    }
    const spec = value as Partial<ContextSpec> | null;
    if (
      typeof spec !== "object" ||
      spec === null ||
      typeof spec.doc !== "string" ||
      typeof spec.keyField !== "string" ||
      spec.keyField === "" ||
      typeof spec.ephemeral !== "boolean" ||
      typeof spec.upstream !== "boolean" ||
      (spec.correlateByKey !== undefined && typeof spec.correlateByKey !== "boolean")
    ) {
      throw new ContextSpecError(file, 'expected {"doc": string, "keyField": string, "ephemeral": boolean, "upstream": boolean, "correlateByKey"?: boolean}');
    }
    specs.set(name, { doc: spec.doc, keyField: spec.keyField, ephemeral: spec.ephemeral, upstream: spec.upstream, correlateByKey: spec.correlateByKey ?? false });
  }
  return specs;
}
