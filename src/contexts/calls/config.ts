import { defineSlice, list, optionalText, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";
import { isPlaceholderSecret, nodeEnv } from "../../platform/config/core-config.js";
import { recordingStorageConfig } from "../../platform/config/recording-storage-config.js";

const HOST = String.raw`(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?`;
/** `turn:host[:port][?transport=udp|tcp]` or `turns:` (RFC 7065). */
const TURN_URI = new RegExp(`^turns?:${HOST}(\\?transport=(udp|tcp))?$`);
/** `stun:host[:port]` or `stuns:` (RFC 7064). */
const STUN_URI = new RegExp(`^stuns?:${HOST}$`);

/** A comma-separated list of URIs, each matching `pattern`; empty when unset. */
const uris = (pattern: RegExp, example: string) =>
  list("").refine((items) => items.every((item) => pattern.test(item)), `must be a comma-separated list of URIs such as ${example}`);

/** The shortest TURN_SECRET production accepts: anyone who guesses it relays through the TURN server. */
const MIN_PRODUCTION_SECRET = 32;

/**
 * Where TURN credentials come from: coturn's REST-API scheme with a shared secret, static
 * credentials, the local stack's coturn (nothing configured, outside production), or no TURN
 * server at all.
 */
export type TurnSource =
  | { readonly kind: "secret"; readonly servers: readonly string[]; readonly secret: string }
  | { readonly kind: "static"; readonly servers: readonly string[]; readonly username: string; readonly credential: string }
  | { readonly kind: "stack" }
  | { readonly kind: "none" };

/**
 * The calls context's configuration: the call rules' timers, the signaling budget, the ICE servers
 * handed to clients, and where recordings' media is stored (the variables of
 * {@link recordingStorageConfig}, read through the same schemas).
 */
export const callsConfig = defineSlice({
  name: "calls",
  variables: {
    ...recordingStorageConfig.variables,
    NODE_ENV: nodeEnv,
    TURN_SECRET: optionalText,
    TURN_TTL: positiveInt.default(86_400),
    TURN_SERVERS: uris(TURN_URI, "turn:turn.example.com:3478?transport=udp"),
    STUN_SERVERS: uris(STUN_URI, "stun:stun.example.com:3478"),
    TURN_USERNAME: optionalText,
    TURN_CREDENTIAL: optionalText,
    CALL_RINGING_TIMEOUT_MS: positiveInt.default(60_000),
    CALL_MAX_DURATION_MS: positiveInt.default(3_600_000),
    RATE_LIMIT_SIGNALS_PER_MIN: positiveInt.default(600),
  },
  problems: (env) => {
    const problems: string[] = [...(recordingStorageConfig.problems?.(env) ?? [])];
    const secret = env.TURN_SECRET;
    const staticCredentials = env.TURN_USERNAME !== undefined || env.TURN_CREDENTIAL !== undefined;
    if (secret !== undefined && staticCredentials) {
      problems.push("TURN_USERNAME, TURN_CREDENTIAL: static credentials are for a TURN server without TURN_SECRET; set one or the other");
    }
    if (staticCredentials && (env.TURN_USERNAME === undefined || env.TURN_CREDENTIAL === undefined)) {
      problems.push("TURN_USERNAME, TURN_CREDENTIAL: set both or neither");
    }
    if ((secret !== undefined || staticCredentials) && env.TURN_SERVERS.length === 0) {
      problems.push("TURN_SERVERS: required with TURN_SECRET or TURN_USERNAME (the turn: URIs the credentials are for)");
    }
    if (env.TURN_SERVERS.length > 0 && secret === undefined && !staticCredentials) {
      problems.push("TURN_SERVERS: set TURN_SECRET (coturn's static-auth-secret) or TURN_USERNAME and TURN_CREDENTIAL: a TURN server refuses clients without credentials");
    }
    if (env.NODE_ENV === "production" && secret !== undefined) {
      if (secret.length < MIN_PRODUCTION_SECRET) problems.push(`TURN_SECRET: must be at least ${MIN_PRODUCTION_SECRET} characters in production`);
      else if (isPlaceholderSecret(secret)) problems.push("TURN_SECRET: a placeholder from an example is refused in production; generate one, e.g. `openssl rand -base64 48`");
    }
    return problems;
  },
  settings: (env) => ({
    turn: turnSource(env),
    /** STUN servers handed to clients as they are (with the local stack's coturn and none set: that coturn). */
    stunServers: env.STUN_SERVERS,
    /** How long TURN credentials last, and how long a client may use an ICE configuration before asking again. */
    ttlSeconds: env.TURN_TTL,
    /** Callees ring this long before they count as not answering (`no_answer`). */
    ringingTimeoutMs: env.CALL_RINGING_TIMEOUT_MS,
    /** An answered call ends this long after its first answer (`max_duration`). */
    maxDurationMs: env.CALL_MAX_DURATION_MS,
    /** Per user and per signaling event name (offer, answer, candidate), shared across gateways. */
    signalsPerMinute: env.RATE_LIMIT_SIGNALS_PER_MIN,
    /** Where recordings' media is stored, and the largest one accepted. */
    recordings: recordingStorageConfig.settings(env),
  }),
});

function turnSource(env: {
  NODE_ENV: string;
  TURN_SECRET?: string | undefined;
  TURN_SERVERS: string[];
  TURN_USERNAME?: string | undefined;
  TURN_CREDENTIAL?: string | undefined;
}): TurnSource {
  if (env.TURN_SECRET !== undefined) return { kind: "secret", servers: env.TURN_SERVERS, secret: env.TURN_SECRET };
  if (env.TURN_USERNAME !== undefined && env.TURN_CREDENTIAL !== undefined) {
    return { kind: "static", servers: env.TURN_SERVERS, username: env.TURN_USERNAME, credential: env.TURN_CREDENTIAL };
  }
  // Like every address left unset, TURN then points at the local stack, outside production only:
  // a loopback TURN server handed to a production client would be a made-up one.
  return env.NODE_ENV === "production" ? { kind: "none" } : { kind: "stack" };
}

export type CallsSettings = SettingsOf<typeof callsConfig>;
