import type { DevicePlatform } from "../../../platform/contract/generated/avro-types.js";

/** What the notifier needs to know of a user's device to push to it (the devices read model's view has more). */
export interface PushDevice {
  readonly deviceId: string;
  readonly platform: DevicePlatform;
  /** The push service its tokens belong to; null for a device registered without push. */
  readonly pushChannel: "apns" | "fcm" | null;
  readonly pushToken: string | null;
  /** The iOS PushKit token that rings incoming calls. */
  readonly voipToken: string | null;
  /** When the current push token was registered (epoch ms): an APNs 410 dated before it is about an older registration. */
  readonly pushTokenAt?: number | null;
  /** The same for the VoIP token. */
  readonly voipTokenAt?: number | null;
}

/**
 * Where the notifier finds a user's push targets: the devices context's read model. Answers the
 * user's registered devices (`[]` for a user with none); rejects when the store cannot be read,
 * and the notifier tries again later rather than skip the user.
 */
export interface PushTargets {
  devicesOf(userId: string): Promise<readonly PushDevice[]>;
}
