import { describe, expect, it } from "vitest";
import type { NotificationChannel, RequestNotification } from "../../../../src/platform/contract/generated/avro-types.js";
import type { NotificationCommand } from "../../../../src/contexts/notifications/domain/commands.js";
import { notificationsDecider } from "../../../../src/contexts/notifications/domain/decide.js";
import type { DecidedNotificationEvent } from "../../../../src/contexts/notifications/domain/events.js";
import { MAX_REMEMBERED } from "../../../../src/contexts/notifications/domain/state.js";
import { notificationsProcessor } from "../../../../src/contexts/notifications/processor.js";
import { rememberedOutcome } from "../../../../src/platform/processor/aggregate-snapshot.js";
import { commandMeta, deciderSpec, runCommands } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(notificationsDecider);
const meta = (commandId: string) => commandMeta({ commandId, actorId: "system:notifier" });
const USER = "bob";

const requestOf = (notificationId: string): Omit<RequestNotification, "meta"> => ({
  userId: USER,
  notificationId,
  category: "new_message",
  title: "Alice",
  body: "lunch?",
  data: { link: "quikchat://c1" },
  conversationId: "c1",
  messageId: "m1",
  callId: null,
  huddleId: null,
  priority: "high",
  collapseKey: "c1",
});
const request = (notificationId = "n1"): NotificationCommand => ({ type: "RequestNotification", data: { meta: meta(`request:${notificationId}`), ...requestOf(notificationId) } });
const requested = (notificationId = "n1"): DecidedNotificationEvent => ({ type: "NotificationRequested", data: requestOf(notificationId) });
const dispatch = (deviceId: string | null, channel: NotificationChannel = "apns", notificationId = "n1"): NotificationCommand => ({
  type: "RecordDispatch",
  data: { meta: meta(`dispatch:${deviceId}`), userId: USER, notificationId, channel, provider: channel, deviceId, providerMessageId: "apns-1" },
});
const sent = (deviceId: string, channel: NotificationChannel = "apns", notificationId = "n1"): DecidedNotificationEvent => ({
  type: "NotificationSent",
  data: { userId: USER, notificationId, channel, provider: channel, deviceId, providerMessageId: "apns-1" },
});
const failure = (deviceId: string, reason = "BadDeviceToken"): NotificationCommand => ({
  type: "RecordFailure",
  data: { meta: meta(`failure:${deviceId}`), userId: USER, notificationId: "n1", channel: "apns", provider: "apns", deviceId, reason, permanent: true },
});
const failed = (deviceId: string, reason = "BadDeviceToken"): DecidedNotificationEvent => ({
  type: "NotificationFailed",
  data: { userId: USER, notificationId: "n1", channel: "apns", provider: "apns", deviceId, reason, permanent: true },
});
const delivery = (deviceId: string, notificationId = "n1", commandId = `delivery:${deviceId}`): NotificationCommand => ({
  type: "RecordDelivery",
  data: { meta: meta(commandId), userId: USER, notificationId, channel: "apns", deviceId },
});
const delivered = (deviceId: string): DecidedNotificationEvent => ({ type: "NotificationDelivered", data: { userId: USER, notificationId: "n1", channel: "apns", deviceId } });

describe("the notifications of a user", () => {
  describe("when nothing was requested", () => {
    it("a request is NotificationRequested with everything the notifier needs", () => {
      spec.given([]).when(request()).then([requested()]);
    });

    it("a report about it is not_found: nothing to record it against", () => {
      spec.given([]).when(dispatch("iphone")).thenThrows("not_found");
      spec.given([]).when(delivery("iphone")).thenThrows("not_found");
    });

    it("a request without an id is invalid", () => {
      spec.given([]).when(request("")).thenThrows("invalid");
    });
  });

  describe("when a notification was requested", () => {
    it("the same request again changes nothing (the requester retried)", () => {
      spec.given([requested()]).when(request()).thenNothingHappened();
    });

    it("records a dispatch and a failure per device", () => {
      spec.given([requested()]).when(dispatch("iphone")).then([sent("iphone")]);
      spec.given([requested()]).when(failure("pixel")).then([failed("pixel")]);
    });

    it("a push names its device, a mail none", () => {
      spec.given([requested()]).when(dispatch(null)).thenThrows("invalid", /names the device/);
      spec.given([requested()]).when(dispatch("iphone", "email")).thenThrows("invalid", /not to a device/);
      spec.given([requested()]).when(dispatch(null, "email")).then([{ type: "NotificationSent", data: { userId: USER, notificationId: "n1", channel: "email", provider: "email", deviceId: null, providerMessageId: "apns-1" } }]);
    });
  });

  describe("when a device's outcome is recorded", () => {
    it("a second report of that device is a no-op, whatever it says (a restarted notifier reporting again)", () => {
      spec.given([requested(), sent("iphone")]).when(dispatch("iphone")).thenNothingHappened();
      spec.given([requested(), sent("iphone")]).when(failure("iphone")).thenNothingHappened();
      spec.given([requested(), failed("iphone")]).when(dispatch("iphone")).thenNothingHappened();
    });

    it("other devices are still recorded", () => {
      spec.given([requested(), sent("iphone")]).when(dispatch("pixel", "fcm")).then([sent("pixel", "fcm")]);
    });

    it("the device's acknowledgement is NotificationDelivered once", () => {
      spec.given([requested(), sent("iphone")]).when(delivery("iphone")).then([delivered("iphone")]);
      spec.given([requested(), sent("iphone"), delivered("iphone")]).when(delivery("iphone")).thenNothingHappened();
    });

    it("an acknowledgement of a notification the user was never sent is not_found, not ignored: the device cannot have received it", () => {
      spec.given([requested(), sent("iphone")]).when(delivery("iphone", "n2")).thenThrows("not_found", /no notification n2/);
      spec.given([requested(), sent("iphone"), delivered("iphone")]).when(delivery("iphone", "n2")).thenThrows("not_found");
    });

    it("an acknowledgement before the dispatch's report counts, and the late report is then a no-op", () => {
      spec.given([requested()]).when(delivery("iphone")).then([delivered("iphone")]);
      spec.given([requested(), delivered("iphone")]).when(dispatch("iphone")).thenNothingHappened();
    });
  });

  describe("when the user had many notifications", () => {
    it(`remembers the last ${MAX_REMEMBERED}: a report about an older one is not_found`, () => {
      const history = Array.from({ length: MAX_REMEMBERED + 1 }, (_, index) => requested(`n${index}`));
      const given = spec.given(history);
      expect(given.state.status === "notified" && given.state.order.length).toBe(MAX_REMEMBERED);
      given.when(dispatch("iphone", "apns", "n0")).thenThrows("not_found");
      given.when(dispatch("iphone", "apns", `n${MAX_REMEMBERED}`)).then([sent("iphone", "apns", `n${MAX_REMEMBERED}`)]);
    });

    it("keeps __proto__ as a plain notification id", () => {
      spec.given([requested("__proto__")]).when(request("__proto__")).thenNothingHappened();
      spec.given([requested("constructor")]).when(dispatch("iphone", "apns", "toString")).thenThrows("not_found");
    });
  });

  it("through the processor's step: acknowledgements (each its own command) record a device once, and one of an unknown notification is refused", () => {
    const { events, snapshot } = runCommands(notificationsProcessor, [request(), delivery("iphone", "n1", "ack-1"), delivery("iphone", "n1", "ack-2"), delivery("iphone", "n9", "ack-3")]);
    expect(events.map((event) => event.type)).toEqual(["NotificationRequested", "NotificationDelivered"]);
    const answer = (commandId: string) => rememberedOutcome(snapshot!, commandId);
    expect(answer("ack-1")).toMatchObject({ ok: true, result: { notificationId: "n1" } });
    expect(answer("ack-2")).toMatchObject({ ok: true, result: { notificationId: "n1" } });
    expect(answer("ack-3")).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("through the processor's step: a redelivered report is a duplicate and each device is recorded once", () => {
    const { events } = runCommands(notificationsProcessor, [request(), dispatch("iphone"), dispatch("iphone"), failure("pixel"), request()]);
    expect(events.map((event) => event.type)).toEqual(["NotificationRequested", "NotificationSent", "NotificationFailed"]);
  });
});
