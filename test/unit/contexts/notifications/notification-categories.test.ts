import { describe, expect, it } from "vitest";
import { isMailable, isSilent } from "../../../../src/contexts/notifications/notification-categories.js";

describe("notification categories", () => {
  it("shows every category but a conversation read elsewhere", () => {
    expect(isSilent("conversation_read")).toBe(true);
    for (const category of ["new_message", "mention", "incoming_call", "missed_call", "huddle_invite", "system"] as const) expect(isSilent(category)).toBe(false);
  });

  it("mails what is still worth reading minutes later: not a ringing call (its missed call is mailed), nor a silent notification", () => {
    expect(isMailable("incoming_call")).toBe(false);
    expect(isMailable("conversation_read")).toBe(false);
    for (const category of ["new_message", "mention", "missed_call", "huddle_invite", "system"] as const) expect(isMailable(category)).toBe(true);
  });
});
