import type { DevicePlatform } from "../contract/generated/avro-types.js";
import type { SocketIdentity } from "./channel.js";

/** What a client says about itself in the socket params (`device_id`, `platform`). */
export interface ClientInfo {
  readonly deviceId: string | null;
  readonly platform: DevicePlatform;
}

/** Told when a socket opens and when it closes (presence); must not throw and must not block. */
export interface ConnectionLifecycle {
  opened(identity: SocketIdentity, client: ClientInfo): void;
  /** `closeCode`: the server's own when it closed the socket (e.g. 4001 for an expired token), the client's otherwise. */
  closed(identity: SocketIdentity, closeCode: number): void;
}

const PLATFORMS: readonly DevicePlatform[] = ["ios", "android", "web", "desktop"];

/** The client info of socket query params; an unknown platform counts as web, an oversized device id as none. */
export function clientInfo(query: Record<string, unknown>): ClientInfo {
  const device = query.device_id;
  const platform = query.platform;
  return {
    deviceId: typeof device === "string" && device !== "" && device.length <= 128 ? device : null,
    platform: PLATFORMS.includes(platform as DevicePlatform) ? (platform as DevicePlatform) : "web",
  };
}

/** Tells every one of `lifecycles` of each open and close, in order. */
export function allOf(lifecycles: readonly ConnectionLifecycle[]): ConnectionLifecycle {
  return {
    opened: (identity, client) => lifecycles.forEach((lifecycle) => lifecycle.opened(identity, client)),
    closed: (identity, code) => lifecycles.forEach((lifecycle) => lifecycle.closed(identity, code)),
  };
}
