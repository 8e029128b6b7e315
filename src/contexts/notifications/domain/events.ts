import type { NotificationsEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about one user's notifications: requested, sent or failed on a device (or by mail), delivered. */
export type NotificationEvent = NotificationsEvent;

/** A notification event as `decide` returns it (the runtime fills `meta`). */
export type DecidedNotificationEvent = DecidedEvent<NotificationEvent>;
