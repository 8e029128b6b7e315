import type { ProviderFailure } from "./provider-result.js";

/**
 * What a push is for, which decides how each provider carries it: `alert` is shown to the user
 * (APNs `alert`, an FCM notification message); `background` wakes the app silently (APNs
 * `background` at priority 5 with `content-available`, a normal-priority FCM data message);
 * `voip` rings an incoming call (APNs `voip` on the `.voip` topic, a high-priority FCM data message).
 */
export type PushKind = "alert" | "background" | "voip";

/** One push to one device, in the provider's neutral terms; each adapter builds its own payload from it. */
export interface PushMessage {
  /** The device's push token as the provider issued it (APNs: hex; FCM: registration token). */
  readonly token: string;
  readonly kind: PushKind;
  /**
   * The push's own id, a UUID (APNs `apns-id`, which APNs answers with and reports errors under);
   * the notifier derives it from the notification and device, so a push sent again after a crash
   * carries the same id. APNs picks one when absent; FCM has no such field and names its message itself.
   */
  readonly id?: string;
  /** What an `alert` shows; ignored for `background` and `voip`. */
  readonly alert?: { readonly title?: string; readonly body: string };
  /** The app icon's badge (unread count); `0` clears it. */
  readonly badge?: number;
  /** A sound name for an `alert` (`default` for the platform's). */
  readonly sound?: string;
  /** Key/values handed to the app (conversation id, message id, call id). */
  readonly data?: Readonly<Record<string, string>>;
  /** Pushes with the same id replace each other on the device (APNs `apns-collapse-id`, at most 64 bytes; FCM `collapse_key`). */
  readonly collapseId?: string;
  /** Groups alerts on the device (APNs `thread-id`, FCM Android `tag`). */
  readonly threadId?: string;
  /**
   * After this instant the provider drops the push instead of storing it for an offline device; one
   * already past is delivered only if the device is reachable at once. Absent: the provider's default
   * (APNs stores it once, FCM four weeks).
   */
  readonly expiresAt?: Date;
  /** `high` delivers at once, `normal` when the device's power allows; default `high` except for `background`. */
  readonly priority?: "high" | "normal";
}

/**
 * The provider's answer to one push. `delivered` means the provider accepted it for the device (not
 * that the user saw it). `token_dead` means the token will never work again: remove the device —
 * for APNs' 410 only when `since` is after the token was registered (a token registered again
 * since then is a new one).
 */
export type PushResult =
  | { readonly outcome: "delivered"; readonly id: string }
  | { readonly outcome: "token_dead"; readonly status: number; readonly reason: string; readonly since?: Date }
  | ProviderFailure;

/**
 * Sends pushes through one provider account (an APNs key for one app, an FCM project).
 *
 * - `send` never rejects: every answer, a network failure or a timeout included, is a
 *   {@link PushResult}. It makes one request, plus one more after renewing the credentials when the
 *   provider refused them.
 * - It does not retry `retry_later` itself: the caller owns backoff and the record of what was sent.
 * - Concurrent sends share one connection and one set of credentials.
 * - `close` ends the connection after the sends in flight; a `send` after `close` answers `retry_later`.
 */
export interface PushSender {
  /** Which provider this is, for metrics' `provider` label: `apns`, `fcm`. */
  readonly provider: string;
  send(message: PushMessage): Promise<PushResult>;
  close(): Promise<void>;
}
