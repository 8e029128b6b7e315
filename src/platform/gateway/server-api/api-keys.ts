import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether `presented` is one of `keys`, in time that does not depend on where they differ:
 * both sides are hashed first (equal lengths for `timingSafeEqual`), and every key is compared.
 */
export function apiKeyMatches(keys: readonly string[], presented: string | undefined): boolean {
  if (presented === undefined || presented === "") return false;
  const digest = createHash("sha256").update(presented).digest();
  let matched = false;
  for (const key of keys) {
    if (timingSafeEqual(createHash("sha256").update(key).digest(), digest)) matched = true;
  }
  return matched;
}

/** The key of a request: `X-API-Key: <key>` or `Authorization: apikey <key>`. */
export function presentedKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const header = headers["x-api-key"];
  if (typeof header === "string") return header;
  const authorization = headers.authorization;
  if (typeof authorization !== "string") return undefined;
  const match = /^apikey\s+(.+)$/i.exec(authorization.trim());
  return match?.[1];
}
