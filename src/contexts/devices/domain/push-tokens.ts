/**
 * The shapes of push tokens the providers hand out, checked before a token is stored, so that a
 * malformed one is refused to the client that sent it rather than failing at every push.
 *
 * - APNs device tokens (alert and PushKit VoIP alike) are hexadecimal: 32 bytes today (64
 *   digits), longer ones allowed since Apple says their length may grow; at most 200 digits.
 * - FCM registration tokens are opaque: URL-safe base64 with `:` separators (`<instance
 *   id>:APA91b…`), about 150–250 characters today; 32 to 4096 characters of that alphabet.
 */
const APNS_TOKEN = /^[0-9a-fA-F]{64,200}$/;
const FCM_TOKEN = /^[A-Za-z0-9_:.-]{32,4096}$/;

/** The push services a device token may belong to. */
export type PushService = "apns" | "fcm";

/** Why `token` cannot be a token of `service`, or undefined when it can. */
export function malformedToken(service: PushService, token: string): string | undefined {
  if (service === "apns") {
    return APNS_TOKEN.test(token) ? undefined : "an APNs token is 64 to 200 hexadecimal digits";
  }
  return FCM_TOKEN.test(token) ? undefined : "an FCM registration token is 32 to 4096 characters of A-Z, a-z, 0-9, '_', '-', ':' and '.'";
}
