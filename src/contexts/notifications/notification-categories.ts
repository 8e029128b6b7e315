import type { NotificationCategory } from "../../platform/contract/generated/avro-types.js";

/**
 * Whether notifications of `category` are silent: never shown to the user, only handed to the app
 * (a conversation read on another device: its notifications go and the badge changes). A silent
 * notification is a background push, never a VoIP push nor an email digest item, and is not
 * published to the user's sockets.
 */
export function isSilent(category: NotificationCategory): boolean {
  return category === "conversation_read";
}

/**
 * Whether notifications of `category` go into an email digest for a user without a push-capable
 * device. Not a silent one, nor an `incoming_call`: a mail arrives after `EMAIL_DELAY_MS`, when
 * the ringing is long over, and the call's `missed_call` (which is mailed) says what the user
 * needs to know.
 */
export function isMailable(category: NotificationCategory): boolean {
  return !isSilent(category) && category !== "incoming_call";
}
