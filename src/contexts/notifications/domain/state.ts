import type { NotificationChannel } from "../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { NotificationEvent } from "./events.js";

/** What became of a notification on one target (a device, or the user's mailbox). */
export type TargetOutcome = "sent" | "failed" | "delivered";

/** One notification the user was sent, with the outcome on each of its targets. */
export interface NotificationRecord {
  /** When it was requested (epoch milliseconds). */
  readonly requestedAt: number;
  /** By {@link targetKey}: the first report of each target is the one that counts. */
  readonly targets: Readonly<Record<string, TargetOutcome>>;
}

/** A user nothing was ever asked to notify. */
export interface Unnotified {
  readonly status: "unnotified";
}

/** A user with notifications: the most recent {@link MAX_REMEMBERED} of them, oldest first in `order`. */
export interface Notified {
  readonly status: "notified";
  readonly notifications: Readonly<Record<string, NotificationRecord>>;
  readonly order: readonly string[];
}

/** One user's notifications. Plain objects only: it survives the changelog's JSON round trip. */
export type NotificationsState = Unnotified | Notified;

/**
 * How many notifications of a user the aggregate remembers. Requests and reports come within
 * minutes of each other (the notifier's retries are bounded), so a user's last 256 cover every
 * one still in flight; a report about one forgotten since is refused `not_found`.
 */
export const MAX_REMEMBERED = 256;

export function initialState(): NotificationsState {
  return { status: "unnotified" };
}

/** The key of a target in {@link NotificationRecord.targets}: the device, or the channel for a mail (no device). */
export function targetKey(channel: NotificationChannel, deviceId: string | null): string {
  return deviceId === null ? `${channel}:` : `${channel}:${deviceId}`;
}

/** The notification `notificationId` of this user, if remembered. */
export function notificationOf(state: NotificationsState, notificationId: string): NotificationRecord | undefined {
  return state.status === "notified" ? own(state.notifications, notificationId) : undefined;
}

function withOutcome(state: NotificationsState, notificationId: string, key: string, outcome: TargetOutcome): NotificationsState {
  const record = notificationOf(state, notificationId);
  if (state.status !== "notified" || record === undefined) return state;
  return { ...state, notifications: { ...state.notifications, [notificationId]: { ...record, targets: { ...record.targets, [key]: outcome } } } };
}

export function evolve(state: NotificationsState, event: NotificationEvent): NotificationsState {
  switch (event.type) {
    case "NotificationRequested": {
      const { notificationId, meta } = event.data;
      if (notificationOf(state, notificationId) !== undefined) return state;
      const before = state.status === "notified" ? state : { notifications: {}, order: [] };
      const order = [...before.order, notificationId];
      const notifications: Record<string, NotificationRecord> = { ...before.notifications, [notificationId]: { requestedAt: meta.occurredAt, targets: {} } };
      while (order.length > MAX_REMEMBERED) delete notifications[order.shift()!];
      return { status: "notified", notifications, order };
    }
    case "NotificationSent":
      return withOutcome(state, event.data.notificationId, targetKey(event.data.channel, event.data.deviceId), "sent");
    case "NotificationFailed":
      return withOutcome(state, event.data.notificationId, targetKey(event.data.channel, event.data.deviceId), "failed");
    case "NotificationDelivered":
      return withOutcome(state, event.data.notificationId, targetKey(event.data.channel, event.data.deviceId), "delivered");
    default:
      return unreachable(event);
  }
}
