import type { Device } from "./domain/state.js";
import { Port } from "../../platform/ports.js";

/**
 * One registered device of a user, as the devices read model holds it: the aggregate's own
 * {@link Device} (see its fields), its push service narrowed to the two it can be.
 */
export type DeviceView = Omit<Device, "pushChannel"> & { readonly pushChannel: "apns" | "fcm" | null };

/**
 * Users' registered devices, as the notifier reads them to find push targets and the REST API
 * lists them. Filled by the `devices` projection of `quikapp.devices.events` (MongoDB).
 *
 * - Eventually consistent with the events: a registration shows once projected (usually within
 *   milliseconds); the processor's answer to a command is the authority on what it did.
 * - `devicesOf` answers a user's devices in registration order (then device id); a user with
 *   none (or unknown) gets `[]`. At most ten per user.
 * - `devicesOfUsers` answers the same for several users at once (one query), every asked user
 *   present in the map, with `[]` when they have none.
 * - A device unregistered for any reason (the user, a dead token, eviction, the user deleted)
 *   is gone from both at once.
 * - Reads only; never throws for an unknown user; rejects when MongoDB cannot be reached.
 */
export interface DevicesReadModel {
  devicesOf(userId: string): Promise<DeviceView[]>;
  devicesOfUsers(userIds: readonly string[]): Promise<Map<string, DeviceView[]>>;
}

/** The devices read model: provided by the devices context to the other contexts of a gateway process. */
export const DEVICES = new Port<DevicesReadModel>("the devices read model");
