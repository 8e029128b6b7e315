import { describe, expect, it } from "vitest";
import { deliveryAck } from "../../../../src/contexts/notifications/channels/delivery-acks.js";
import { ServiceError } from "../../../../src/platform/errors/error-codes.js";

const socketOfPhone = { channel: "apns", deviceId: "phone-1" } as const;

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ServiceError && error.code === "invalid") return error.publicMessage;
    throw error;
  }
  throw new Error("accepted");
}

describe("a delivery acknowledgement", () => {
  it("takes the socket's device and its platform's channel when the client names neither", () => {
    expect(deliveryAck({ notificationId: "n1" }, socketOfPhone)).toEqual({ notificationId: "n1", channel: "apns", deviceId: "phone-1" });
    expect(deliveryAck({ notificationId: "n1", channel: "fcm", deviceId: "tablet" }, socketOfPhone)).toEqual({ notificationId: "n1", channel: "fcm", deviceId: "tablet" });
  });

  it("names no device for a mail, and the device for a push", () => {
    expect(deliveryAck({ notificationId: "n1", channel: "email" }, socketOfPhone)).toEqual({ notificationId: "n1", channel: "email", deviceId: null });
    expect(refusal(() => deliveryAck({ notificationId: "n1", channel: "email", deviceId: "x" }, {}))).toBe("deviceId must be absent for a mail");
    expect(refusal(() => deliveryAck({ notificationId: "n1", channel: "fcm" }, {}))).toContain("deviceId is required");
    expect(refusal(() => deliveryAck({ notificationId: "n1" }, {}))).toBe("channel is required");
  });

  it("refuses a missing, empty, mistyped or oversized id and an unknown channel, naming the field", () => {
    expect(refusal(() => deliveryAck({}, socketOfPhone))).toBe("notificationId is required");
    expect(refusal(() => deliveryAck({ notificationId: " " }, socketOfPhone))).toBe("notificationId must not be empty");
    expect(refusal(() => deliveryAck({ notificationId: 7 }, socketOfPhone))).toBe("notificationId must be a string");
    expect(refusal(() => deliveryAck({ notificationId: "n".repeat(513) }, socketOfPhone))).toBe("notificationId must be at most 512 characters");
    expect(refusal(() => deliveryAck({ notificationId: "n1", channel: "pigeon" }, socketOfPhone))).toBe("channel must be one of apns, fcm, email");
    expect(refusal(() => deliveryAck({ notificationId: "n1", deviceId: 5 }, socketOfPhone))).toBe("deviceId must be a string");
  });
});
