import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type avro from "avsc";
import type { DependencyProbe } from "../../platform/gateway/dependency-health.js";
import { sleep } from "../../platform/sleep.js";

/** The registry connection settings (Confluent-compatible API, e.g. Apicurio's `/apis/ccompat/v7`). */
export interface RegistrySettings {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

export type Compatibility = "BACKWARD" | "BACKWARD_TRANSITIVE" | "FORWARD" | "FULL" | "FULL_TRANSITIVE" | "NONE";

/** A registry refusal: the schema is incompatible with what is registered, or malformed. */
export class SchemaRegistrationError extends Error {
  constructor(
    readonly subject: string,
    readonly status: number,
    detail: string,
  ) {
    super(`schema registry refused ${subject} (HTTP ${status}): ${detail}`);
    this.name = "SchemaRegistrationError";
  }
}

/**
 * A Confluent-compatible schema registry: registration and per-subject compatibility over
 * plain HTTP, schema look-ups by id through `@kafkajs/confluent-schema-registry` (cached).
 *
 * Registration deliberately bypasses the library's `register()`: it reads `/config/{subject}`
 * first and Apicurio's compatibility API answers that differently from Confluent for existing
 * subjects, so the library's result depends on the registry product.
 */
export class SchemaRegistryClient {
  readonly library: SchemaRegistry;
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;

  constructor(settings: RegistrySettings) {
    this.baseUrl = settings.url.replace(/\/+$/, "");
    const auth =
      settings.username === undefined ? undefined : { username: settings.username, password: settings.password ?? "" };
    this.headers = { "content-type": "application/vnd.schemaregistry.v1+json", accept: "application/json" };
    if (auth) this.headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    this.library = new SchemaRegistry({ host: this.baseUrl, ...(auth ? { auth } : {}) });
  }

  /** Registers `schema` under `subject` (idempotent: an identical schema returns its existing id). */
  async register(subject: string, schema: object): Promise<number> {
    const body = JSON.stringify({ schemaType: "AVRO", schema: JSON.stringify(schema) });
    const response = await this.retryingConflicts(() => this.request("POST", `/subjects/${encodeURIComponent(subject)}/versions`, body));
    const answer = (await response.json().catch(() => ({}))) as { id?: number; message?: string };
    if (!response.ok || typeof answer.id !== "number") {
      throw new SchemaRegistrationError(subject, response.status, answer.message ?? response.statusText);
    }
    return answer.id;
  }

  /** Sets the compatibility rule new versions of `subject` must satisfy. */
  async setCompatibility(subject: string, compatibility: Compatibility): Promise<void> {
    const body = JSON.stringify({ compatibility });
    const response = await this.retryingConflicts(() => this.request("PUT", `/config/${encodeURIComponent(subject)}`, body));
    if (!response.ok) {
      throw new SchemaRegistrationError(subject, response.status, await response.text());
    }
  }

  /** The writer schema registered under `id` (cached by the library after the first look-up). */
  async schemaById(id: number): Promise<avro.Type> {
    return (await this.library.getSchema(id)) as unknown as avro.Type;
  }

  /** Resolves when the registry answers its subject listing; throws otherwise. */
  async ping(timeoutMs: number): Promise<void> {
    const response = await this.request("GET", "/subjects", undefined, timeoutMs);
    if (!response.ok) throw new Error(`schema registry answered HTTP ${response.status}`);
  }

  /**
   * Several processes bootstrapping at once race to create the same subject or rule, and the
   * registry answers the loser 409; the same request succeeds once the winner's write is there.
   * (An incompatible schema is 409 too, and stays 409: it is returned after the last try.)
   */
  private async retryingConflicts(send: () => Promise<Response>): Promise<Response> {
    for (let attempt = 1; ; attempt += 1) {
      const response = await send();
      if (response.status !== 409 || attempt === 3) return response;
      await response.body?.cancel();
      await sleep(50 * attempt);
    }
  }

  private async request(method: string, path: string, body?: string, timeoutMs = 10_000): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      method,
      headers: this.headers,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body }),
    });
  }
}

export function schemaRegistryProbe(registry: SchemaRegistryClient): DependencyProbe {
  return { name: "schema_registry", check: (timeoutMs) => registry.ping(timeoutMs) };
}
