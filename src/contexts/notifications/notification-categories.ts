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
