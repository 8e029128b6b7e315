import type { NotificationChannel, RecordDelivery } from "../../../platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { absent, invalid, optionalText, text } from "../../../platform/gateway/payload-fields.js";

/** The longest notification id accepted (the policy's are `message:<conversationId>:<seq>:<userId>`). */
export const MAX_NOTIFICATION_ID = 512;
const CHANNELS: readonly NotificationChannel[] = ["apns", "fcm", "email"];

/** What a client acknowledges: a notification it received, through which channel, on which device. */
export interface DeliveryAck {
  readonly notificationId: string;
  readonly channel: NotificationChannel;
  readonly deviceId: string | null;
}

/**
 * Reads an acknowledgement: `notificationId` (required), `channel` (`apns`, `fcm` or `email`) and
 * `deviceId`, each defaulting to `fallback`'s (the socket's device). A push names the device it
 * reached, a mail none, as the notifications aggregate requires. Throws `invalid` naming the field.
 */
export function deliveryAck(payload: Record<string, unknown>, fallback: { readonly channel?: NotificationChannel; readonly deviceId?: string | null }): DeliveryAck {
  const notificationId = text(payload, "notificationId", MAX_NOTIFICATION_ID);
  if (notificationId.trim() === "") throw invalid("notificationId must not be empty");
  const given = payload.channel;
  if (!absent(given) && !CHANNELS.includes(given as NotificationChannel)) throw invalid(`channel must be one of ${CHANNELS.join(", ")}`);
  const channel = absent(given) ? fallback.channel : (given as NotificationChannel);
  if (channel === undefined) throw invalid("channel is required");
  const deviceId = optionalText(payload, "deviceId", 128) ?? (channel === "email" ? null : (fallback.deviceId ?? null));
  if (channel === "email" && deviceId !== null) throw invalid("deviceId must be absent for a mail");
  if (channel !== "email" && (deviceId === null || deviceId === "")) throw invalid("deviceId is required: the device the push reached");
  return { notificationId, channel, deviceId };
}

/**
 * Records that a notification reached the user: `RecordDelivery` on
 * `quikapp.notifications.commands`, keyed by the user, and resolves once the notifications
 * aggregate has recorded it (`NotificationDelivered`, or nothing for a repeat: acknowledging twice
 * is fine). Rejects with the aggregate's `not_found` for a notification never requested for this
 * user (another user's included: it is not theirs to see), with `timeout` or `unavailable` when
 * Kafka or the processor did not answer.
 */
export async function recordDelivery(bus: CommandBus, caller: { readonly userId: string; readonly workspaceId: string }, ack: DeliveryAck): Promise<void> {
  // A fresh command id per acknowledgement: the aggregate makes a repeat a no-op, and two acks of
  // the same push at once (socket and REST) each get their own answer instead of sharing one reply.
  const command: RecordDelivery = { meta: bus.meta(caller), userId: caller.userId, ...ack };
  await bus.request("notifications", "RecordDelivery", caller.userId, command);
}
