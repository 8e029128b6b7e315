import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KNOWN_VARIABLES, loadConfig } from "../../../src/contexts/index.js";

interface ComposeFile {
  services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string> }>;
}

const compose = parse(readFileSync(new URL("../../../docker-compose.yml", import.meta.url), "utf8")) as ComposeFile;
const ours = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

/** `${NAME:-fallback}` as Compose would resolve it with NAME unset. */
const interpolate = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");

describe("docker-compose.yml", () => {
  it("runs the service itself", () => {
    expect(ours.map(([name]) => name)).toContain("quikchat");
  });

  it.each(ours)("sets only variables the configuration knows (%s)", (_name, service) => {
    const unknown = Object.keys(service.environment ?? {}).filter((name) => !KNOWN_VARIABLES.includes(name));
    expect(unknown).toEqual([]);
  });

  it.each(ours)("sets values the configuration accepts (%s)", (_name, service) => {
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value))]));
    const config = loadConfig(env);
    expect(config.stack.mode).toBe("off");
    expect(config.kafka.brokers).toEqual(["kafka:9092"]);
  });

  it("uses the official images of the local stack's components", () => {
    const images = Object.values(compose.services).map((service) => service.image?.split(":")[0]);
    expect(images).toEqual(expect.arrayContaining(["apache/kafka", "apicurio/apicurio-registry", "redis", "mariadb", "mongo"]));
  });
});
