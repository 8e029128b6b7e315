import { CORE_SLICES, type CoreConfig } from "../platform/config/core-config.js";
import { loadSlices, variablesOf, type ConfigSlice } from "../platform/config/config-slice.js";
import type { ContextModule } from "../platform/context-module.js";
import { consoleConfig, type ConsoleSettings } from "../console/console-config.js";
import { calls } from "./calls/module.js";
import { channels } from "./channels/module.js";
import { comments } from "./comments/module.js";
import { conversations } from "./conversations/module.js";
import { devices } from "./devices/module.js";
import { huddles } from "./huddles/module.js";
import { notifications } from "./notifications/module.js";
import { presence } from "./presence/module.js";
import { typing } from "./typing/module.js";
import { users } from "./users/module.js";

/**
 * Every context of the service. Each role and tool iterates this list: adding a context is its
 * `.avsc` files, its folder and one line here. Contexts start in this order, so one that uses
 * another's port comes after it.
 */
export const CONTEXT_MODULES = [conversations, presence, typing, users, channels, comments, calls, huddles, devices, notifications] as const;

type Module = (typeof CONTEXT_MODULES)[number];
type SettingsOfModule<M> = M extends ContextModule<string, infer Settings> ? Settings : never;

/**
 * The whole configuration of a process: the platform's, the operators' console's, and every
 * context's settings under the context's name (the recordings' object storage is the calls').
 */
export type Config = CoreConfig & { readonly console: ConsoleSettings } & { readonly [M in Module as M["name"]]: SettingsOfModule<M> };

const SLICES: readonly ConfigSlice[] = [
  ...CORE_SLICES,
  consoleConfig,
  ...CONTEXT_MODULES.flatMap((module): ConfigSlice[] => (module.config ? [module.config] : []))];

/**
 * Validates the environment and returns the configuration, frozen, or throws a `ConfigError`
 * listing every problem at once. Empty strings count as unset. Nothing else reads `process.env`.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  return loadSlices(env, SLICES) as unknown as Config;
}

/** The names of every variable the configuration reads (docker-compose.yml is checked against them). */
export const KNOWN_VARIABLES: readonly string[] = Object.freeze(variablesOf(SLICES));

/** A context's settings in `config`. */
export function settingsOf<M extends ContextModule<string, unknown>>(config: Config, module: M): SettingsOfModule<M> {
  return (config as unknown as Record<string, unknown>)[module.name] as SettingsOfModule<M>;
}
