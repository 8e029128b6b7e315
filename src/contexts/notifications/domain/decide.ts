import type { NotificationChannel } from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { NotificationCommand } from "./commands.js";
import type { DecidedNotificationEvent, NotificationEvent } from "./events.js";
import { evolve, initialState, notificationOf, targetKey, type NotificationRecord, type NotificationsState } from "./state.js";

/** Push channels need the device they went to; a mail has none. */
function checkTarget(channel: NotificationChannel, deviceId: string | null): void {
  if (channel === "email" && deviceId !== null) throw new DomainError("invalid", "a mail goes to the user's address, not to a device: deviceId must be null");
  if (channel !== "email" && (deviceId === null || deviceId === "")) throw new DomainError("invalid", `a ${channel} notification names the device it went to`);
}

function requested(state: NotificationsState, notificationId: string): NotificationRecord {
  const record = notificationOf(state, notificationId);
  if (record === undefined) throw new DomainError("not_found", `no notification ${notificationId} was requested for this user`);
  return record;
}

/**
 * The notifications of one user (key: userId), the record of what became of each of them on each
 * target, so that nothing is sent twice and every outcome is stated once.
 *
 * - request: a new `notificationId` is `NotificationRequested` (the notifier sends it); the same id
 *   again is a no-op (the requester retried, or Kafka redelivered). An empty id is `invalid`.
 * - dispatch and failure (the notifier's reports, per device, or per mailbox for email): about a
 *   requested notification only (`not_found` otherwise); the first report of a target is its
 *   outcome (`NotificationSent`, `NotificationFailed`), any later report of that target a no-op,
 *   so a notifier restarted between a send and its record may report it again harmlessly.
 * - delivery (the device acknowledged it): of a requested notification only (`not_found`
 *   otherwise: a device cannot have received what was never sent to its user, and the client is
 *   told so); `NotificationDelivered` once per target, whether or not the dispatch was recorded yet
 *   (a device may acknowledge before the notifier reports); again: a no-op.
 * - a push report names its device; a mail report names none (`invalid` otherwise).
 */
export const notificationsDecider: Decider<NotificationCommand, NotificationEvent, NotificationsState> = {
  initialState,
  evolve,
  decide(command, state): DecidedNotificationEvent[] {
    switch (command.type) {
      case "RequestNotification": {
        const { meta: _meta, ...request } = command.data;
        if (request.notificationId === "") throw new DomainError("invalid", "notificationId must not be empty");
        if (notificationOf(state, request.notificationId) !== undefined) return [];
        return [{ type: "NotificationRequested", data: request }];
      }
      case "RecordDispatch": {
        const { notificationId, userId, channel, deviceId, provider, providerMessageId } = command.data;
        checkTarget(channel, deviceId);
        if (own(requested(state, notificationId).targets, targetKey(channel, deviceId)) !== undefined) return [];
        return [{ type: "NotificationSent", data: { userId, notificationId, channel, provider, deviceId, providerMessageId } }];
      }
      case "RecordFailure": {
        const { notificationId, userId, channel, deviceId, provider, reason, permanent } = command.data;
        checkTarget(channel, deviceId);
        if (own(requested(state, notificationId).targets, targetKey(channel, deviceId)) !== undefined) return [];
        return [{ type: "NotificationFailed", data: { userId, notificationId, channel, provider, deviceId, reason, permanent } }];
      }
      case "RecordDelivery": {
        const { notificationId, userId, channel, deviceId } = command.data;
        checkTarget(channel, deviceId);
        if (own(requested(state, notificationId).targets, targetKey(channel, deviceId)) === "delivered") return [];
        return [{ type: "NotificationDelivered", data: { userId, notificationId, channel, deviceId } }];
      }
      default:
        return unreachable(command);
    }
  },
};
