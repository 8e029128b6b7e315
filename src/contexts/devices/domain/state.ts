import type { DevicePlatform, NotificationChannel } from "../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { DeviceEvent } from "./events.js";

/** One registered device of a user. Times are epoch milliseconds. */
export interface Device {
  /** The app installation's id on the device (the client's, or chosen by the server at registration). */
  readonly deviceId: string;
  readonly platform: DevicePlatform;
  /** The push service its tokens belong to (`apns` or `fcm`); null for a device registered without push. */
  readonly pushChannel: NotificationChannel | null;
  /** The token of alerts and silent pushes; null when the device has none (yet). */
  readonly pushToken: string | null;
  /** The iOS PushKit token that rings incoming calls (APNs `voip` pushes); null without one. */
  readonly voipToken: string | null;
  readonly name: string | null;
  readonly model: string | null;
  readonly osVersion: string | null;
  readonly appVersion: string | null;
  /** BCP 47 language tag the notifications are written in. */
  readonly locale: string | null;
  /** Its first registration (kept when it registers again). */
  readonly registeredAt: number;
  /** The last time the app on it spoke: registration, token change, heartbeat. */
  readonly lastSeenAt: number;
  /**
   * When the current `pushToken` was registered: an APNs 410 `Unregistered` whose timestamp is
   * not after it is about an older registration of the same token, which must not remove it.
   */
  readonly pushTokenAt: number | null;
  /** When the current `voipToken` was registered. */
  readonly voipTokenAt: number | null;
}

/**
 * A user's devices by device id (none for a user who never registered one, or removed them all).
 * A single shape rather than a union: the aggregate is a set whose every state is "some devices".
 */
export interface DevicesState {
  readonly devices: Readonly<Record<string, Device>>;
}

export function initialState(): DevicesState {
  return { devices: {} };
}

/** The device of `deviceId`, if the user has it. */
export function deviceOf(state: DevicesState, deviceId: string): Device | undefined {
  return own(state.devices, deviceId);
}

/** The user's devices, least recently seen first (ties: earlier registration, then device id). */
export function devicesBySeen(state: DevicesState): Device[] {
  return Object.values(state.devices).sort((a, b) => a.lastSeenAt - b.lastSeenAt || a.registeredAt - b.registeredAt || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}

/**
 * Folds one event into the state; total: an event about a device the user does not have changes
 * nothing (registration excepted). A token change counts as the device being seen only when the
 * user's app made it (`meta.actorId` is the user), not when the notifier dropped a dead token.
 */
export function evolve(state: DevicesState, event: DeviceEvent): DevicesState {
  const at = event.data.meta.occurredAt;
  switch (event.type) {
    case "DeviceRegistered": {
      const { meta: _meta, userId: _userId, ...details } = event.data;
      const before = deviceOf(state, details.deviceId);
      return withDevice(state, {
        ...details,
        registeredAt: before?.registeredAt ?? at,
        lastSeenAt: Math.max(before?.lastSeenAt ?? at, at),
        pushTokenAt: tokenSince(details.pushToken, before?.pushToken, before?.pushTokenAt, at),
        voipTokenAt: tokenSince(details.voipToken, before?.voipToken, before?.voipTokenAt, at),
      });
    }
    case "DeviceTokenUpdated": {
      const { deviceId, pushToken, voipToken, userId, meta } = event.data;
      const before = deviceOf(state, deviceId);
      if (before === undefined) return state;
      return withDevice(state, {
        ...before,
        pushToken,
        voipToken,
        lastSeenAt: meta.actorId === userId ? Math.max(before.lastSeenAt, at) : before.lastSeenAt,
        pushTokenAt: tokenSince(pushToken, before.pushToken, before.pushTokenAt, at),
        voipTokenAt: tokenSince(voipToken, before.voipToken, before.voipTokenAt, at),
      });
    }
    case "DeviceHeartbeatRecorded": {
      const before = deviceOf(state, event.data.deviceId);
      if (before === undefined) return state;
      return withDevice(state, { ...before, lastSeenAt: Math.max(before.lastSeenAt, at) });
    }
    case "DeviceUnregistered": {
      if (deviceOf(state, event.data.deviceId) === undefined) return state;
      const { [event.data.deviceId]: _removed, ...devices } = state.devices;
      return { devices };
    }
    default:
      return unreachable(event);
  }
}

function withDevice(state: DevicesState, device: Device): DevicesState {
  return { devices: { ...state.devices, [device.deviceId]: device } };
}

/** When the token `now` was registered: `at` if it is new, its earlier instant if unchanged, null without one. */
function tokenSince(now: string | null, before: string | null | undefined, beforeAt: number | null | undefined, at: number): number | null {
  if (now === null) return null;
  return now === before ? (beforeAt ?? at) : at;
}
