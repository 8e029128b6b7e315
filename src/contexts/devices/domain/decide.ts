import type { DeviceHeartbeat, NotificationChannel, RegisterDevice, UnregisterDevice, UpdateDeviceToken } from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import type { DeviceCommand } from "./commands.js";
import type { DecidedDeviceEvent, DeviceEvent } from "./events.js";
import { malformedToken } from "./push-tokens.js";
import { deviceOf, devicesBySeen, evolve, initialState, type Device, type DevicesState } from "./state.js";

/** The most devices a user has: registering one more evicts the least recently seen. */
export const MAX_DEVICES = 10;

/**
 * The devices aggregate (key: userId): each user's registered devices and their push tokens.
 * The gateway sends a user's commands for that user only (`userId` is the caller); the
 * notifier sends `UnregisterDevice` with `token_invalid` for tokens a push service refused.
 *
 * Rules:
 * - register: a new device id is added; a known one is refreshed (`DeviceRegistered` again). A
 *   refresh keeps what it leaves null (a token, the app version, the locale…) as long as the push
 *   service stays the same: an iPhone registers its alert token and its PushKit VoIP token in two
 *   calls, in either order. Another push service replaces both tokens. A device without a push
 *   service has no tokens; a VoIP token is APNs' only; `email` is no push service; tokens must
 *   have their service's shape ({@link malformedToken}). All `invalid` otherwise.
 * - at most {@link MAX_DEVICES}: registering one more first unregisters the least recently seen
 *   (`evicted`), so that a new phone always works.
 * - a token belongs to one device: registering (or updating to) a token another device of the
 *   user holds unregisters that other device (`stale`): a token names one installation of the
 *   app, so the other id is an older registration of the same one (a reinstall, cleared data).
 * - update token: replaces the alert token, and the VoIP token when one is given (kept
 *   otherwise). The device must exist (`not_found`) and have a push service (`conflict`); the
 *   same tokens again are a no-op.
 * - unregister (`user_request`, `stale`, `evicted`, `user_deleted`): the device goes; an unknown
 *   device is `not_found` for the user's own request, a no-op for the others (the system's
 *   clean-ups, done already).
 * - unregister `token_invalid` (the notifier, after a push service refused `failedToken`, which
 *   it must give: `invalid` otherwise): when that is still the device's alert token, the device
 *   goes; when it is its VoIP token, only that token goes (`DeviceTokenUpdated`), unless it has
 *   no alert token, then the device goes; anything else (a token replaced meanwhile, a device
 *   gone) is a no-op, so a refusal racing a new token never removes the new one.
 * - heartbeat: the device was seen at `issuedAt` (`not_found` for an unknown device; a no-op
 *   when it was seen at that instant or later).
 */
export const devicesDecider: Decider<DeviceCommand, DeviceEvent, DevicesState> = {
  initialState,
  evolve,
  decide,
};

function decide(command: DeviceCommand, state: DevicesState): DecidedDeviceEvent[] {
  switch (command.type) {
    case "RegisterDevice":
      return register(command.data, state);
    case "UpdateDeviceToken":
      return updateToken(command.data, state);
    case "UnregisterDevice":
      return unregister(command.data, state);
    case "DeviceHeartbeat":
      return heartbeat(command.data, state);
    default:
      return unreachable(command);
  }
}

function register(command: RegisterDevice, state: DevicesState): DecidedDeviceEvent[] {
  const { userId, deviceId, platform, pushChannel } = command;
  if (deviceId === "") throw new DomainError("invalid", "a device needs an id");
  const before = deviceOf(state, deviceId);
  // The same service keeps the tokens a refresh does not name; another one starts afresh.
  const kept = before !== undefined && before.pushChannel === pushChannel ? before : undefined;
  const pushToken = command.pushToken ?? kept?.pushToken ?? null;
  const voipToken = command.voipToken ?? kept?.voipToken ?? null;
  checkTokens(pushChannel, pushToken, voipToken);
  const displaced = holdersOf(state, deviceId, [pushToken, voipToken]);
  const remaining = Object.keys(state.devices).length - displaced.length;
  const evicted =
    before === undefined && remaining >= MAX_DEVICES
      ? devicesBySeen(state)
          .filter((device) => !displaced.includes(device))
          .slice(0, remaining - MAX_DEVICES + 1)
      : [];
  const keep = <K extends "name" | "model" | "osVersion" | "appVersion" | "locale">(field: K) => command[field] ?? before?.[field] ?? null;
  return [
    ...displaced.map((device) => unregistered(userId, device, "stale")),
    ...evicted.map((device) => unregistered(userId, device, "evicted")),
    {
      type: "DeviceRegistered",
      data: {
        userId,
        deviceId,
        platform,
        pushChannel,
        pushToken,
        voipToken,
        name: keep("name"),
        model: keep("model"),
        osVersion: keep("osVersion"),
        appVersion: keep("appVersion"),
        locale: keep("locale"),
      },
    },
  ];
}

function updateToken(command: UpdateDeviceToken, state: DevicesState): DecidedDeviceEvent[] {
  const { userId, deviceId } = command;
  const device = deviceOf(state, deviceId);
  if (device === undefined) throw new DomainError("not_found", "no such device");
  if (device.pushChannel === null) throw new DomainError("conflict", "the device was registered without a push service: register it again with its service");
  const pushToken = command.pushToken;
  const voipToken = command.voipToken ?? device.voipToken;
  checkTokens(device.pushChannel, pushToken, voipToken);
  if (pushToken === device.pushToken && voipToken === device.voipToken) return [];
  return [
    ...holdersOf(state, deviceId, [pushToken, voipToken]).map((other) => unregistered(userId, other, "stale")),
    { type: "DeviceTokenUpdated", data: { userId, deviceId, pushToken, voipToken } },
  ];
}

function unregister(command: UnregisterDevice, state: DevicesState): DecidedDeviceEvent[] {
  const { userId, deviceId, reason, failedToken } = command;
  const device = deviceOf(state, deviceId);
  if (reason === "token_invalid") {
    if (failedToken === null || failedToken === "") throw new DomainError("invalid", "token_invalid names the token the push service refused (failedToken)");
    if (device === undefined) return [];
    if (failedToken === device.pushToken) return [unregistered(userId, device, reason)];
    if (failedToken !== device.voipToken) return [];
    if (device.pushToken === null) return [unregistered(userId, device, reason)];
    return [{ type: "DeviceTokenUpdated", data: { userId, deviceId, pushToken: device.pushToken, voipToken: null } }];
  }
  if (device === undefined) {
    if (reason === "user_request") throw new DomainError("not_found", "no such device");
    return [];
  }
  return [unregistered(userId, device, reason)];
}

function heartbeat(command: DeviceHeartbeat, state: DevicesState): DecidedDeviceEvent[] {
  const { userId, deviceId, meta } = command;
  const device = deviceOf(state, deviceId);
  if (device === undefined) throw new DomainError("not_found", "no such device");
  if (device.lastSeenAt >= meta.issuedAt) return [];
  return [{ type: "DeviceHeartbeatRecorded", data: { userId, deviceId } }];
}

/** Refuses tokens that do not fit the push service they are registered with. */
function checkTokens(pushChannel: NotificationChannel | null, pushToken: string | null, voipToken: string | null): void {
  if (pushChannel === "email") throw new DomainError("invalid", "email is not a push service: use apns or fcm, or none");
  if (pushChannel === null) {
    if (pushToken !== null || voipToken !== null) throw new DomainError("invalid", "a push token needs its push service (apns or fcm)");
    return;
  }
  if (voipToken !== null && pushChannel !== "apns") throw new DomainError("invalid", "VoIP tokens are APNs tokens (PushKit)");
  for (const token of [pushToken, voipToken]) {
    const problem = token === null ? undefined : malformedToken(pushChannel, token);
    if (problem !== undefined) throw new DomainError("invalid", problem);
  }
}

/** The user's other devices that hold one of `tokens`. */
function holdersOf(state: DevicesState, deviceId: string, tokens: readonly (string | null)[]): Device[] {
  const wanted = new Set(tokens.filter((token): token is string => token !== null));
  if (wanted.size === 0) return [];
  return devicesBySeen(state).filter(
    (device) => device.deviceId !== deviceId && ((device.pushToken !== null && wanted.has(device.pushToken)) || (device.voipToken !== null && wanted.has(device.voipToken))),
  );
}

function unregistered(userId: string, device: Device, reason: UnregisterDevice["reason"]): DecidedDeviceEvent {
  return { type: "DeviceUnregistered", data: { userId, deviceId: device.deviceId, reason } };
}
