import type { NotificationsCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands about one user's notifications: ask for one (`RequestNotification`, from the policies
 * that decide who is notified), and the notifier's reports of what each provider did with it
 * (`RecordDispatch`, `RecordFailure`) and of the device's acknowledgement (`RecordDelivery`). The
 * aggregate is the recipient; `userId` is also the Kafka key.
 */
export type NotificationCommand = NotificationsCommand;
