import { z } from "zod";

/**
 * One slice of the configuration: the environment variables a part of the service reads (the
 * platform's connections, or one context's settings), declared once. The settings' type is
 * inferred from `settings`, so a variable is written where it is validated and where it is
 * mapped, never in a third interface.
 */
export interface ConfigSlice<Name extends string = string, Settings = unknown> {
  /** The key of the settings in the configuration object, e.g. `presence` → `config.presence`. */
  readonly name: Name;
  /** Every variable of the slice with its validation (and default); empty strings count as unset. */
  readonly variables: z.ZodRawShape;
  /** The typed settings from the validated variables. */
  settings(env: Record<string, unknown>): Settings;
  /** Rules between variables of the slice, checked once each variable is valid: one line per problem, naming the variable. */
  problems?(env: Record<string, unknown>): string[];
}

/** The settings a slice produces. */
export type SettingsOf<S> = S extends ConfigSlice<string, infer Settings> ? Settings : never;

/** `{[name]: settings}` of a list of slices. */
export type SlicesConfig<Slices extends readonly ConfigSlice[]> = {
  readonly [S in Slices[number] as S["name"]]: SettingsOf<S>;
};

/** Declares a slice; `settings` and `problems` see the variables with their validated types. */
export function defineSlice<Name extends string, Shape extends z.ZodRawShape, Settings>(slice: {
  readonly name: Name;
  readonly variables: Shape;
  settings(env: z.infer<z.ZodObject<Shape>>): Settings;
  problems?(env: z.infer<z.ZodObject<Shape>>): string[];
}): ConfigSlice<Name, Settings> {
  return slice;
}

/** Thrown by {@link loadSlices} with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Validates `env` against every slice and returns `{[slice name]: settings}`, deeply frozen, or
 * throws a {@link ConfigError} listing every problem of every slice at once (a slice's rules
 * between variables are checked whenever its own variables are valid, whatever the other
 * slices say). Two slices may read the same variable only through the same schema object.
 */
export function loadSlices<Slices extends readonly ConfigSlice[]>(
  env: Readonly<Record<string, string | undefined>>,
  slices: Slices,
): SlicesConfig<Slices> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const declared = new Map<string, { slice: string; schema: unknown }>();
  for (const slice of slices) {
    for (const [variable, schema] of Object.entries(slice.variables)) {
      const other = declared.get(variable);
      if (other !== undefined && other.schema !== schema) {
        throw new Error(`${variable} is declared differently by the ${other.slice} and the ${slice.name} configuration`);
      }
      declared.set(variable, { slice: slice.name, schema });
    }
  }
  const problems: string[] = [];
  const result: Record<string, unknown> = {};
  for (const slice of slices) {
    const parsed = z.object(slice.variables).safeParse(present);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
      continue;
    }
    const own = slice.problems?.(parsed.data) ?? [];
    problems.push(...own);
    if (own.length === 0) result[slice.name] = slice.settings(parsed.data);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result) as SlicesConfig<Slices>;
}

/** The names of every variable the slices read (docker-compose.yml and the README are checked against them). */
export function variablesOf(slices: readonly ConfigSlice[]): string[] {
  return [...new Set(slices.flatMap((slice) => Object.keys(slice.variables)))];
}

// ---- validation helpers shared by the slices

export const port = z.coerce.number().int().min(1).max(65_535);
export const positiveInt = z.coerce.number().int().positive();
export const optionalText = z.string().min(1).optional();

/** A comma-separated list (trimmed, empty items dropped). */
export const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));

/** A URL with one of `protocols` (e.g. `["redis:", "rediss:"]`). */
export const url = (protocols: readonly string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);

/** Drops undefined entries so optional properties are absent rather than `undefined`. */
export function defined<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
