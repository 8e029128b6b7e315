import type { TurnSource } from "./config.js";
import { turnCredentials } from "./turn-credentials.js";

/** The TURN servers clients are given, as the gateway resolved them (the local stack's coturn, once known, is a `secret` one). */
export type TurnAccess = Exclude<TurnSource, { readonly kind: "stack" }>;

/** What a client needs to reach the ICE servers. */
export interface IceServers {
  readonly stun: readonly string[];
  readonly turn: TurnAccess;
  /** How long credentials last (secret) and how long a client may keep a configuration before asking again. */
  readonly ttlSeconds: number;
}

/** One entry of `RTCConfiguration.iceServers`, as a browser passes it to `RTCPeerConnection`. */
export interface RtcIceServer {
  readonly urls: readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** coturn's REST API answer: `password` repeats `credential` for the clients that read that name. */
export interface TurnCredentialsAnswer {
  readonly username: string;
  readonly credential: string;
  readonly password: string;
  readonly ttl: number;
  readonly uris: readonly string[];
}

/** The TURN credentials of `userId` at `nowMs` with the URIs they are for; undefined when no TURN server is configured. */
export function turnCredentialsFor(ice: IceServers, userId: string, nowMs: number): TurnCredentialsAnswer | undefined {
  const { turn, ttlSeconds } = ice;
  if (turn.kind === "none") return undefined;
  const { username, credential } = turn.kind === "secret" ? turnCredentials(turn.secret, userId, nowMs, ttlSeconds) : turn;
  return { username, credential, password: credential, ttl: ttlSeconds, uris: turn.servers };
}

/**
 * The ICE configuration of `userId` at `nowMs`: the STUN servers, then the TURN servers with
 * their credentials; only what is configured, never a server of its own making.
 */
export function iceConfig(ice: IceServers, userId: string, nowMs: number): { iceServers: RtcIceServer[]; ttl: number } {
  const iceServers: RtcIceServer[] = [];
  if (ice.stun.length > 0) iceServers.push({ urls: ice.stun });
  const turn = turnCredentialsFor(ice, userId, nowMs);
  if (turn !== undefined) iceServers.push({ urls: turn.uris, username: turn.username, credential: turn.credential });
  return { iceServers, ttl: ice.ttlSeconds };
}
