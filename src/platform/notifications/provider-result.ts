/**
 * What a notification provider (APNs, FCM, a mail relay) answered to one send when it did not
 * deliver, sorted by what the caller must do next. The provider's own words travel in `reason`
 * (APNs' `reason`, FCM's `errorCode` or `status`, an SMTP reply code and text) for logs and the
 * notifier's events (`notifications_failed_total` counts the kind of failure, a short fixed list).
 *
 * Why here and not in the notifications context that uses it: the adapters of `src/infra/` (APNs,
 * FCM, the mail relays) implement these ports, and the platform and infrastructure know no
 * context (a lint rule keeps it so), as with the object store of recordings.
 */
export type ProviderFailure =
  /**
   * The provider refused the service's credentials (APNs 403 `InvalidProviderToken`, FCM 401, SMTP
   * 535) even after the adapter signed or fetched new ones once. Nothing is known of the recipient:
   * keep the device or address, fix the credentials.
   */
  | { readonly outcome: "auth_failed"; readonly status?: number; readonly reason: string }
  /**
   * Not delivered for now (429, 5xx, a connection that failed, an SMTP 4xx): send again later, no
   * sooner than `retryAfterMs` when the provider said so (`Retry-After`). Never a reason to drop a token.
   */
  | { readonly outcome: "retry_later"; readonly status?: number; readonly reason: string; readonly retryAfterMs?: number }
  /** Refused for good as it is (bad payload, too large, topic not allowed, unknown mailbox): do not resend it unchanged. */
  | { readonly outcome: "refused"; readonly status?: number; readonly reason: string };
