/**
 * The actor ids under which the service acts for itself (never a token's `sub`: the gateway
 * refuses tokens whose `sub` starts with `system:`). Deciders may grant them what no user may do.
 */

/** The upstream user service, for what follows from its events (a deleted user leaving its conversations). */
export const USER_SERVICE_ACTOR = "system:users";

/** The presence policy, for what follows from a connection's end (its huddle participations lost). */
export const PRESENCE_POLICY_ACTOR = "system:presence";

/** The notification policy, for the notifications it asks for (`RequestNotification`). */
export const NOTIFICATION_POLICY_ACTOR = "system:notifications";

/** The notifier, for its reports of what providers did with notifications and the dead tokens it removes. */
export const NOTIFIER_ACTOR = "system:notifier";
