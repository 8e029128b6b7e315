import { describe, expect, it } from "vitest";
import type { NotificationRequested } from "../../../../src/platform/contract/generated/avro-types.js";
import { CALL_PUSH_LIFETIME_MS, collapseIdOf, planPush, pushId } from "../../../../src/contexts/notifications/notifier/push-plan.js";
import type { PushDevice } from "../../../../src/contexts/notifications/notifier/push-targets.js";

const T0 = 1_700_000_000_000;
const request = (overrides: Partial<NotificationRequested> = {}): NotificationRequested => ({
  meta: { eventId: "e1", occurredAt: T0, correlationId: "corr", causationId: "cmd", actorId: "system:notify", workspaceId: "w1" },
  userId: "bob",
  notificationId: "n1",
  category: "new_message",
  title: "Alice",
  body: "lunch?",
  data: { link: "quikchat://c1" },
  conversationId: "c1",
  messageId: "m1",
  callId: null,
  huddleId: null,
  priority: "normal",
  collapseKey: null,
  ...overrides,
});
const iphone: PushDevice = { deviceId: "iphone", platform: "ios", pushChannel: "apns", pushToken: "a".repeat(64), voipToken: "b".repeat(64) };
const pixel: PushDevice = { deviceId: "pixel", platform: "android", pushChannel: "fcm", pushToken: "fcm-token", voipToken: null };

describe("the push a notification takes to a device", () => {
  it("a message is an alert with the title, body, deep link, thread and the notification's id", () => {
    expect(planPush(request(), iphone)).toEqual({
      deviceId: "iphone",
      channel: "apns",
      message: {
        token: iphone.pushToken,
        kind: "alert",
        id: pushId("n1", "iphone"),
        alert: { title: "Alice", body: "lunch?" },
        sound: "default",
        data: { link: "quikchat://c1", notificationId: "n1", category: "new_message", conversationId: "c1", messageId: "m1" },
        collapseId: "n1",
        threadId: "c1",
        priority: "normal",
      },
      tokenAt: null,
    });
  });

  it("an incoming call rings: VoIP on the iPhone's PushKit token, a high-priority data message on Android, both expiring with the ringing", () => {
    const call = request({ category: "incoming_call", conversationId: null, messageId: null, callId: "call-1" });
    const ios = planPush(call, iphone)!;
    expect(ios.message).toMatchObject({ token: iphone.voipToken, kind: "voip", priority: "high", expiresAt: new Date(T0 + CALL_PUSH_LIFETIME_MS), data: { callId: "call-1" } });
    expect(ios.message.alert).toBeUndefined();
    expect(planPush(call, pixel)!.message).toMatchObject({ token: "fcm-token", kind: "voip", priority: "high" });
    expect(planPush(call, { ...iphone, pushTokenAt: 1, voipTokenAt: 2 })!.tokenAt).toBe(2);
    expect(planPush(call, { ...iphone, voipToken: null })!.message).toMatchObject({ token: iphone.pushToken, kind: "alert" });
  });

  it("a conversation read is a silent push with the badge: APNs background at priority 5, an FCM data message at normal priority", () => {
    const read = request({ category: "conversation_read", title: "", body: "", messageId: null, priority: "high", data: { conversationId: "c1", readSeq: "7", badge: "2" }, collapseKey: "conversation-read:c1" });
    for (const device of [iphone, pixel]) {
      const { message } = planPush(read, device)!;
      expect(message).toEqual({
        token: device.pushToken,
        kind: "background",
        id: pushId("n1", device.deviceId),
        data: { conversationId: "c1", readSeq: "7", badge: "2", notificationId: "n1", category: "conversation_read" },
        collapseId: "conversation-read:c1",
        badge: 2,
        priority: "normal",
      });
    }
  });

  it("an alert carries the badge its data gives, when it is a count", () => {
    expect(planPush(request({ data: { badge: "3" } }), iphone)!.message.badge).toBe(3);
    expect(planPush(request({ data: { badge: "many" } }), iphone)!.message.badge).toBeUndefined();
  });

  it("a device without push, or without the token the push needs, gets none", () => {
    expect(planPush(request(), { ...iphone, pushChannel: null })).toBeUndefined();
    expect(planPush(request(), { ...pixel, pushToken: null })).toBeUndefined();
  });

  it("the push id is a UUID fixed by the notification and device; the collapse id fits APNs' 64 bytes", () => {
    expect(pushId("n1", "iphone")).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(pushId("n1", "iphone")).toBe(pushId("n1", "iphone"));
    expect(pushId("n1", "pixel")).not.toBe(pushId("n1", "iphone"));
    expect(collapseIdOf({ collapseKey: "c1", notificationId: "n1" })).toBe("c1");
    const long = collapseIdOf({ collapseKey: null, notificationId: "x".repeat(65) });
    expect(Buffer.byteLength(long)).toBe(64);
    expect(long).not.toBe(collapseIdOf({ collapseKey: null, notificationId: "y".repeat(65) }));
  });
});
