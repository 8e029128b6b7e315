import { describe, expect, it } from "vitest";
import { apiKeyMatches, presentedKey } from "../../../../src/platform/gateway/server-api/api-keys.js";

describe("server API keys", () => {
  const keys = ["first-key-0123456789", "second-key-0123456789"];

  it("accepts any configured key and nothing else", () => {
    expect(apiKeyMatches(keys, "second-key-0123456789")).toBe(true);
    expect(apiKeyMatches(keys, "second-key-012345678")).toBe(false);
    expect(apiKeyMatches(keys, "")).toBe(false);
    expect(apiKeyMatches(keys, undefined)).toBe(false);
    expect(apiKeyMatches([], "first-key-0123456789")).toBe(false);
  });

  it("reads X-API-Key, or Authorization: apikey", () => {
    expect(presentedKey({ "x-api-key": "k1" })).toBe("k1");
    expect(presentedKey({ authorization: "apikey k2" })).toBe("k2");
    expect(presentedKey({ authorization: "ApiKey  k3" })).toBe("k3");
    expect(presentedKey({ authorization: "Bearer k4" })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});
