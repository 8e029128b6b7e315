import { createHash } from "node:crypto";
import type { NotificationRequested } from "../../../platform/contract/generated/avro-types.js";
import type { PushKind, PushMessage } from "../../../platform/notifications/push-sender.js";
import { isSilent } from "../notification-categories.js";
import type { PushDevice } from "./push-targets.js";

/** One push the notifier owes a device for a notification. */
export interface PlannedPush {
  readonly deviceId: string;
  readonly channel: "apns" | "fcm";
  readonly message: PushMessage;
  /** When the device registered the token the push goes to, if known. */
  readonly tokenAt: number | null;
}

/** How long an incoming call's push is worth delivering: the callee's phone rings no longer than the call does (60 s by default). */
export const CALL_PUSH_LIFETIME_MS = 60_000;
/** APNs takes collapse ids of at most 64 bytes. */
const MAX_COLLAPSE_ID_BYTES = 64;

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * The `apns-id` of a notification's push to a device: a UUID derived from both (RFC 4122 layout,
 * version 8, upper case as APNs writes them), so that a push sent again after a crash carries the
 * same id as the first.
 */
export function pushId(notificationId: string, deviceId: string): string {
  const bytes = sha256(`${notificationId}\u0000${deviceId}`).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex").toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The collapse id of a notification: its `collapseKey` (one per conversation, say), else its own
 * id, so that a push the notifier sends again after a crash replaces the first on the device
 * instead of showing twice. Longer than APNs allows: its SHA-256, which stays as distinct.
 */
export function collapseIdOf(request: Pick<NotificationRequested, "collapseKey" | "notificationId">): string {
  const id = request.collapseKey ?? request.notificationId;
  return Buffer.byteLength(id) <= MAX_COLLAPSE_ID_BYTES ? id : sha256(id).toString("hex");
}

/**
 * The push a notification takes to one device, or undefined when the device cannot receive it
 * (registered without push, or without the token the push needs). An `incoming_call` rings: a
 * VoIP push on an iPhone's PushKit token (an iPhone without one gets an alert on its push token),
 * a high-priority data message on Android; it expires with the ringing. A silent category
 * (`conversation_read`) is a background push: APNs `content-available` at priority 5, a
 * normal-priority FCM data message, nothing shown. Every other category is an alert with the
 * request's title and body. The app gets the deep link in `data`, with the notification's id and
 * category (to acknowledge it and pick its actions); a `badge` in `data` sets the app icon's.
 */
export function planPush(request: NotificationRequested, device: PushDevice): PlannedPush | undefined {
  if (device.pushChannel === null) return undefined;
  const call = request.category === "incoming_call";
  const voip = call && (device.pushChannel === "fcm" || device.voipToken !== null);
  const kind: PushKind = voip ? "voip" : isSilent(request.category) ? "background" : "alert";
  const onVoipToken = voip && device.pushChannel === "apns";
  const token = onVoipToken ? device.voipToken : device.pushToken;
  if (token === null || token === "") return undefined;
  const data: Record<string, string> = { ...request.data, notificationId: request.notificationId, category: request.category };
  for (const key of ["conversationId", "messageId", "callId", "huddleId"] as const) {
    const value = request[key];
    if (value !== null) data[key] = value;
  }
  const badge = Number(request.data.badge);
  const message: PushMessage = {
    token,
    kind,
    id: pushId(request.notificationId, device.deviceId),
    data,
    collapseId: collapseIdOf(request),
    priority: call ? "high" : kind === "background" ? "normal" : request.priority,
    ...(kind === "alert" ? { alert: { title: request.title, body: request.body }, sound: "default" } : {}),
    ...(request.data.badge !== undefined && Number.isSafeInteger(badge) && badge >= 0 ? { badge } : {}),
    ...(kind !== "background" && request.conversationId !== null ? { threadId: request.conversationId } : {}),
    ...(call ? { expiresAt: new Date(request.meta.occurredAt + CALL_PUSH_LIFETIME_MS) } : {}),
  };
  return { deviceId: device.deviceId, channel: device.pushChannel, message, tokenAt: (onVoipToken ? device.voipTokenAt : device.pushTokenAt) ?? null };
}
