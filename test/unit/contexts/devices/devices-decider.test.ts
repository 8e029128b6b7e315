import { describe, expect, it } from "vitest";
import type { DeviceCommand } from "../../../../src/contexts/devices/domain/commands.js";
import { devicesDecider, MAX_DEVICES } from "../../../../src/contexts/devices/domain/decide.js";
import type { DecidedDeviceEvent } from "../../../../src/contexts/devices/domain/events.js";
import { devicesProcessor } from "../../../../src/contexts/devices/processor.js";
import type { RegisterDevice } from "../../../../src/platform/contract/generated/avro-types.js";
import { commandMeta, deciderSpec, runCommands } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(devicesDecider);
const T0 = 1_700_000_000_000;
const APNS = "a".repeat(64);
const APNS_2 = "b".repeat(64);
const VOIP = "c".repeat(64);
const FCM = "fcm-instance:APA91b" + "x".repeat(140);
const meta = (issuedAt = T0, actorId = "alice") => commandMeta({ commandId: `cmd-${issuedAt}`, actorId, issuedAt });

const details = { name: null, model: null, osVersion: null, appVersion: null, locale: null };
const registration = (deviceId: string, overrides: Partial<RegisterDevice> = {}): RegisterDevice => ({
  meta: meta(),
  userId: "alice",
  deviceId,
  platform: "ios",
  pushChannel: "apns",
  pushToken: APNS,
  voipToken: null,
  ...details,
  ...overrides,
});
const register = (deviceId: string, overrides: Partial<RegisterDevice> = {}): DeviceCommand => ({ type: "RegisterDevice", data: registration(deviceId, overrides) });
const registered = (deviceId: string, overrides: Partial<RegisterDevice> = {}): DecidedDeviceEvent => {
  const { meta: _meta, ...data } = registration(deviceId, overrides);
  return { type: "DeviceRegistered", data };
};
const unregistered = (deviceId: string, reason: "user_request" | "token_invalid" | "stale" | "evicted" | "user_deleted"): DecidedDeviceEvent => ({
  type: "DeviceUnregistered",
  data: { userId: "alice", deviceId, reason },
});
const unregister = (deviceId: string, reason: "user_request" | "token_invalid" | "stale" | "evicted" | "user_deleted", failedToken: string | null = null): DeviceCommand => ({
  type: "UnregisterDevice",
  data: { meta: meta(T0, reason === "token_invalid" ? "system:notifier" : "alice"), userId: "alice", deviceId, reason, failedToken },
});
const updateToken = (deviceId: string, pushToken: string, voipToken: string | null = null): DeviceCommand => ({
  type: "UpdateDeviceToken",
  data: { meta: meta(), userId: "alice", deviceId, pushToken, voipToken },
});
const heartbeat = (deviceId: string, at: number): DeviceCommand => ({ type: "DeviceHeartbeat", data: { meta: meta(at), userId: "alice", deviceId } });

/** `count` Android devices d0, d1, … each with its own token. */
const androids = (count: number): DecidedDeviceEvent[] =>
  Array.from({ length: count }, (_, index) => registered(`d${index}`, { platform: "android", pushChannel: "fcm", pushToken: `${FCM}${index}` }));

describe("the devices aggregate", () => {
  describe("when the user has no device", () => {
    it("registers one with its push service and token", () => {
      spec.given([]).when(register("phone", { appVersion: "2.1.0", locale: "fr-FR" })).then([registered("phone", { appVersion: "2.1.0", locale: "fr-FR" })]);
    });

    it("registers a device without push (a browser that refused notifications)", () => {
      spec.given([]).when(register("web-1", { platform: "web", pushChannel: null, pushToken: null })).then([registered("web-1", { platform: "web", pushChannel: null, pushToken: null })]);
    });

    it("refuses malformed tokens, tokens without their service, VoIP tokens outside APNs and email as a push service", () => {
      spec.given([]).when(register("p", { pushToken: "not-hex" })).thenThrows("invalid", /hexadecimal/);
      spec.given([]).when(register("p", { pushToken: "ab".repeat(16) })).thenThrows("invalid", /64 to 200/);
      spec.given([]).when(register("p", { pushChannel: "fcm", pushToken: "short" })).thenThrows("invalid", /FCM registration token/);
      spec.given([]).when(register("p", { pushChannel: "fcm", pushToken: `${FCM} with spaces` })).thenThrows("invalid", /FCM/);
      spec.given([]).when(register("p", { pushChannel: null })).thenThrows("invalid", /push service/);
      spec.given([]).when(register("p", { pushChannel: "fcm", pushToken: FCM, voipToken: VOIP })).thenThrows("invalid", /VoIP/);
      spec.given([]).when(register("p", { pushChannel: "email" })).thenThrows("invalid", /email/);
      spec.given([]).when(register("")).thenThrows("invalid");
    });

    it("answers heartbeats, token updates and the user's removals of unknown devices not_found", () => {
      spec.given([]).when(heartbeat("phone", T0)).thenThrows("not_found");
      spec.given([]).when(updateToken("phone", APNS)).thenThrows("not_found");
      spec.given([]).when(unregister("phone", "user_request")).thenThrows("not_found");
    });

    it("takes the system's clean-ups of unknown devices as done", () => {
      spec.given([]).when(unregister("phone", "token_invalid", APNS)).thenNothingHappened();
      spec.given([]).when(unregister("phone", "stale")).thenNothingHappened();
      spec.given([]).when(unregister("phone", "user_deleted")).thenNothingHappened();
    });
  });

  describe("when an iPhone is registered", () => {
    const iphone = [registered("phone", { appVersion: "1.0", locale: "en-GB" })];

    it("adds its VoIP token in a second registration, keeping the alert token and the details", () => {
      spec.given(iphone).when(register("phone", { pushToken: null, voipToken: VOIP })).then([registered("phone", { voipToken: VOIP, appVersion: "1.0", locale: "en-GB" })]);
    });

    it("starts afresh when it moves to another push service", () => {
      const withVoip = [registered("phone", { voipToken: VOIP, appVersion: "1.0", locale: "en-GB" })];
      spec.given(withVoip).when(register("phone", { pushChannel: "fcm", pushToken: FCM })).then([registered("phone", { pushChannel: "fcm", pushToken: FCM, appVersion: "1.0", locale: "en-GB" })]);
    });

    it("updates its token, keeping the VoIP token unless given one; the same tokens again are a no-op", () => {
      const withVoip = [...iphone, registered("phone", { voipToken: VOIP })];
      spec.given(withVoip).when(updateToken("phone", APNS_2)).then([{ type: "DeviceTokenUpdated", data: { userId: "alice", deviceId: "phone", pushToken: APNS_2, voipToken: VOIP } }]);
      spec.given(withVoip).when(updateToken("phone", APNS)).thenNothingHappened();
      spec.given(withVoip).when(updateToken("phone", "zz")).thenThrows("invalid", /hexadecimal/);
    });

    it("refuses a token update to a device registered without push", () => {
      spec.given([registered("web", { platform: "web", pushChannel: null, pushToken: null })]).when(updateToken("web", APNS)).thenThrows("conflict");
    });

    it("is removed at the user's request", () => {
      spec.given(iphone).when(unregister("phone", "user_request")).then([unregistered("phone", "user_request")]);
    });

    it("records heartbeats after its last sighting only", () => {
      spec.given(iphone).when(heartbeat("phone", T0 + 1)).then([{ type: "DeviceHeartbeatRecorded", data: { userId: "alice", deviceId: "phone" } }]);
      spec.given(iphone).when(heartbeat("phone", T0)).thenNothingHappened();
    });
  });

  describe("when the notifier reports a dead token", () => {
    const withVoip = [registered("phone", { voipToken: VOIP })];

    it("removes the device whose alert token it still is", () => {
      spec.given(withVoip).when(unregister("phone", "token_invalid", APNS)).then([unregistered("phone", "token_invalid")]);
    });

    it("drops only the VoIP token when that is the dead one", () => {
      spec.given(withVoip).when(unregister("phone", "token_invalid", VOIP)).then([{ type: "DeviceTokenUpdated", data: { userId: "alice", deviceId: "phone", pushToken: APNS, voipToken: null } }]);
      const voipOnly = [registered("phone", { pushToken: null, voipToken: VOIP })];
      spec.given(voipOnly).when(unregister("phone", "token_invalid", VOIP)).then([unregistered("phone", "token_invalid")]);
    });

    it("leaves a token updated meanwhile alone", () => {
      const updated = [...withVoip, { type: "DeviceTokenUpdated", data: { userId: "alice", deviceId: "phone", pushToken: APNS_2, voipToken: VOIP } } as const];
      spec.given(updated).when(unregister("phone", "token_invalid", APNS)).thenNothingHappened();
    });

    it("refuses a report that does not name the token", () => {
      spec.given(withVoip).when(unregister("phone", "token_invalid")).thenThrows("invalid", /failedToken/);
    });
  });

  describe("when a token another device holds registers again", () => {
    it("moves it: the older registration of the same installation goes (stale)", () => {
      spec.given([registered("old-id")]).when(register("new-id")).then([unregistered("old-id", "stale"), registered("new-id")]);
      spec.given([registered("old-id"), registered("new-id", { pushToken: APNS_2 })]).when(updateToken("new-id", APNS)).then([
        unregistered("old-id", "stale"),
        { type: "DeviceTokenUpdated", data: { userId: "alice", deviceId: "new-id", pushToken: APNS, voipToken: null } },
      ]);
    });
  });

  describe(`when the user has ${MAX_DEVICES} devices`, () => {
    const full = androids(MAX_DEVICES);
    const newPhone = { platform: "android", pushChannel: "fcm", pushToken: `${FCM}new` } as const;

    it("evicts the least recently seen for an eleventh, which always registers", () => {
      // All registered at T0: d0 is first by registration order and id.
      spec.given(full).when(register("new", newPhone)).then([unregistered("d0", "evicted"), registered("new", newPhone)]);
    });

    it("counts heartbeats as sightings", () => {
      const result = runCommands(devicesProcessor(), [
        ...full.map((event, index) => ({ type: "RegisterDevice", data: { meta: meta(T0 + index), ...(event.data as Omit<RegisterDevice, "meta">) } })),
        heartbeat("d0", T0 + 100),
        heartbeat("d1", T0 + 101),
        register("new", { ...newPhone, meta: meta(T0 + 200) }),
      ]);
      expect(result.events.filter((event) => event.type === "DeviceUnregistered").map((event) => event.data)).toEqual([expect.objectContaining({ deviceId: "d2", reason: "evicted" })]);
      expect(Object.keys(result.snapshot!.state.devices)).toHaveLength(MAX_DEVICES);
    });

    it("refreshes a known device without evicting any", () => {
      spec.given(full).when(register("d3", { ...newPhone, pushToken: `${FCM}3`, appVersion: "9" })).then([registered("d3", { ...newPhone, pushToken: `${FCM}3`, appVersion: "9" })]);
    });

    it("evicts none when the new device's token moves from one of them", () => {
      spec.given(full).when(register("new", { ...newPhone, pushToken: `${FCM}5` })).then([unregistered("d5", "stale"), registered("new", { ...newPhone, pushToken: `${FCM}5` })]);
    });
  });
});
