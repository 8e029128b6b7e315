import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KNOWN_VARIABLES, loadConfig } from "../../../src/contexts/index.js";

interface ComposeService {
  image?: string;
  command?: string[];
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = parse(readFileSync(new URL("../../../docker-compose.yml", import.meta.url), "utf8")) as ComposeFile;
const ours = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
const quikchat = compose.services.quikchat!;
const kafka = compose.services.kafka!;
const coturn = compose.services.coturn!;

/**
 * Resolves `${NAME:-fallback}` and `${NAME:?message}` as Compose would with the variables of
 * `shell`; Compose refuses to start when a `:?` variable is unset, and so does this.
 */
function interpolate(value: string, shell: Record<string, string>): string {
  return value
    .replace(/\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}/g, (_, name: string, fallback: string) => shell[name] ?? fallback)
    .replace(/\$\{([A-Z][A-Z0-9_]*):\?([^}]*)\}/g, (_, name: string, message: string) => {
      const set = shell[name];
      if (set === undefined) throw new Error(`required variable ${name} is missing a value: ${message}`);
      return set;
    });
}

const environmentOf = (service: ComposeService, shell: Record<string, string>) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), shell)]));

/** What a user exports before `docker compose up`. */
const userShell = {
  JWT_SECRET: "kq3Vd8n2XwLr5tYb9Zc1Fg7Hj4Mp6Qs0UaEiOoRu",
  TURN_SECRET: "Zc1Fg7Hj4Mp6Qs0UaEiOoRukq3Vd8n2XwLr5tYb9",
  S3_SECRET_ACCESS_KEY: "Mp6Qs0UaEiOoRukq3Vd8n2XwLr5tYb9Zc1Fg7Hj4",
};

describe("docker-compose.yml", () => {
  it("runs the service itself", () => {
    expect(ours.map(([name]) => name)).toContain("quikchat");
  });

  it.each(ours)("sets only variables the configuration knows (%s)", (_name, service) => {
    const unknown = Object.keys(service.environment ?? {}).filter((name) => !KNOWN_VARIABLES.includes(name));
    expect(unknown).toEqual([]);
  });

  it.each(ours)("sets values the configuration accepts in production (%s)", (_name, service) => {
    const config = loadConfig(environmentOf(service, userShell));
    expect(config.service.env).toBe("production");
    expect(config.stack.mode).toBe("off");
    expect(config.kafka.brokers).toEqual(["kafka:9092"]);
  });

  it("has no placeholder signing key to forget: JWT_SECRET comes from the user's environment or nothing starts", () => {
    expect(quikchat.environment?.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
    expect(() => environmentOf(quikchat, {})).toThrow(/required variable JWT_SECRET/);
  });

  it("gives coturn and the service the TURN secret of the user's environment, or nothing starts", () => {
    const secretArgument = (coturn.command ?? []).find((argument) => argument.startsWith("--static-auth-secret="));
    expect(interpolate(secretArgument ?? "", userShell)).toBe(`--static-auth-secret=${userShell.TURN_SECRET}`);
    expect(environmentOf(quikchat, userShell).TURN_SECRET).toBe(userShell.TURN_SECRET);
    expect(() => environmentOf(quikchat, { JWT_SECRET: userShell.JWT_SECRET })).toThrow(/required variable TURN_SECRET/);
    const calls = loadConfig(environmentOf(quikchat, userShell)).calls;
    expect(calls.turn).toMatchObject({ kind: "secret", servers: ["turn:localhost:3478?transport=udp", "turn:localhost:3478?transport=tcp"] });
    expect(coturn.command).toEqual(expect.arrayContaining(["--use-auth-secret", "--listening-port=3478", "--realm=quikchat"]));
    expect(coturn.command).not.toContain("--allow-loopback-peers");
  });

  it("gives S3Proxy and the service the key pair of the user's environment, or nothing starts", () => {
    const s3 = environmentOf(compose.services.s3!, userShell);
    const storage = loadConfig(environmentOf(quikchat, userShell)).calls.recordings;
    expect(storage.target).toEqual({
      kind: "endpoint",
      endpoint: "http://s3:80",
      credentials: { accessKeyId: s3.S3PROXY_IDENTITY, secretAccessKey: userShell.S3_SECRET_ACCESS_KEY },
    });
    expect(s3.S3PROXY_CREDENTIAL).toBe(userShell.S3_SECRET_ACCESS_KEY);
    expect(() => environmentOf(quikchat, { JWT_SECRET: userShell.JWT_SECRET, TURN_SECRET: userShell.TURN_SECRET })).toThrow(/required variable S3_SECRET_ACCESS_KEY/);
    expect(compose.services.s3?.volumes).toEqual(["s3-data:/data"]);
  });

  it("keeps Kafka's log in Kafka's volume, so events survive the container being recreated", () => {
    const mounted = (kafka.volumes ?? []).map((volume) => volume.split(":")[1]);
    expect(kafka.environment?.KAFKA_LOG_DIRS).toBeDefined();
    expect(mounted).toContain(kafka.environment?.KAFKA_LOG_DIRS);
  });

  it("starts the service only once the registry, and every dependency with a health check, is healthy", () => {
    expect(compose.services.registry?.healthcheck?.test.length).toBeGreaterThan(0);
    const dependsOn = quikchat.depends_on ?? {};
    expect(dependsOn.registry?.condition).toBe("service_healthy");
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === "quikchat" || service.healthcheck === undefined) continue;
      expect({ name, condition: dependsOn[name]?.condition }).toEqual({ name, condition: "service_healthy" });
    }
  });

  it("restarts the service when it exits", () => {
    expect(["unless-stopped", "always", "on-failure"]).toContain(quikchat.restart);
  });

  it("uses the official images of the local stack's components", () => {
    const images = Object.values(compose.services).map((service) => service.image?.split(":")[0]);
    expect(images).toEqual(expect.arrayContaining(["apache/kafka", "apicurio/apicurio-registry", "redis", "mariadb", "mongo", "coturn/coturn", "andrewgaul/s3proxy"]));
  });
});
