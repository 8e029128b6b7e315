import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtVerifier, tokenErrorStatus, type TokenVerifier } from "../../../../src/platform/gateway/jwt-verifier.js";

const secret = "a-test-secret-of-at-least-32-characters!";
const key = new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({ sub: "user-1", workspace_id: "ws-1", exp: now() + 600, ...extra });

const hs256 = (payload: JWTPayload, signingKey: Uint8Array = key) =>
  new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(signingKey);

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("the JWT verifier", () => {
  let verifier: TokenVerifier;

  beforeAll(async () => {
    verifier = await createJwtVerifier({ jwtSecret: secret, acceptHs256: true });
  });

  it("accepts a valid HS256 token and returns who it is for", async () => {
    const exp = now() + 600;
    const result = await verifier.verify(await hs256(claims({ exp })));
    expect(result).toMatchObject({ ok: true, token: { userId: "user-1", workspaceId: "ws-1", expiresAt: exp } });
  });

  it("refuses a missing or empty token", async () => {
    expect(await verifier.verify(undefined)).toMatchObject({ ok: false, error: { code: "missing_token" } });
    expect(await verifier.verify("")).toMatchObject({ ok: false, error: { code: "missing_token" } });
  });

  it("refuses garbage", async () => {
    for (const token of ["garbage", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.bm9wZQ.sig"]) {
      const result = await verifier.verify(token);
      expect(result.ok, token).toBe(false);
      expect(result).toMatchObject({ error: { code: expect.stringMatching(/malformed|invalid_signature/) } });
    }
  });

  it("refuses an expired token", async () => {
    const result = await verifier.verify(await hs256(claims({ exp: now() - 60 })));
    expect(result).toMatchObject({ ok: false, error: { code: "expired" } });
  });

  it("refuses a token signed with another secret", async () => {
    const forged = await hs256(claims(), new TextEncoder().encode("another-secret-of-at-least-32-characters"));
    expect(await verifier.verify(forged)).toMatchObject({ ok: false, error: { code: "invalid_signature" } });
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const [header, , signature] = (await hs256(claims())).split(".");
    const tampered = `${header}.${base64url(claims({ sub: "admin" }))}.${signature}`;
    expect(await verifier.verify(tampered)).toMatchObject({ ok: false, error: { code: "invalid_signature" } });
  });

  it("refuses alg: none", async () => {
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims())}.`;
    expect(await verifier.verify(unsigned)).toMatchObject({ ok: false, error: { code: "unsupported_algorithm" } });
    const noneWithSignature = `${base64url({ alg: "none" })}.${base64url(claims())}.c2ln`;
    expect(await verifier.verify(noneWithSignature)).toMatchObject({ ok: false, error: { code: "unsupported_algorithm" } });
  });

  it("refuses an RS256 token when no public key is configured", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256" }).sign(privateKey);
    expect(await verifier.verify(token)).toMatchObject({ ok: false, error: { code: "unsupported_algorithm" } });
  });

  it.each([
    ["sub", { sub: undefined }],
    ["an empty sub", { sub: "" }],
    ["workspace_id", { workspace_id: undefined }],
    ["a numeric workspace_id", { workspace_id: 7 }],
    ["exp", { exp: undefined }],
  ])("refuses a token without %s", async (_what, override) => {
    const result = await verifier.verify(await hs256(claims(override as JWTPayload)));
    expect(result).toMatchObject({ ok: false, error: { code: "missing_claims" } });
  });

  it("refuses a token whose sub is one of the service's own actors", async () => {
    expect(await verifier.verify(await hs256(claims({ sub: "system:users" })))).toMatchObject({ ok: false, error: { code: "invalid_claims" } });
  });

  it("returns the token's iat when it has one", async () => {
    expect(await verifier.verify(await hs256(claims({ iat: now() - 10 })))).toMatchObject({ ok: true, token: { issuedAt: now() - 10 } });
    expect(await verifier.verify(await hs256(claims()))).toMatchObject({ ok: true, token: { issuedAt: undefined } });
  });

  it("refuses a token that is not valid yet", async () => {
    const result = await verifier.verify(await hs256(claims({ nbf: now() + 600 })));
    expect(result).toMatchObject({ ok: false, error: { code: "not_yet_valid" } });
  });

  it("checks iss and aud when configured", async () => {
    const strict = await createJwtVerifier({ jwtSecret: secret, acceptHs256: true, issuer: "https://auth.example", audience: "quikchat" });
    expect(await strict.verify(await hs256(claims({ iss: "https://auth.example", aud: "quikchat" })))).toMatchObject({ ok: true });
    expect(await strict.verify(await hs256(claims({ iss: "https://evil.example", aud: "quikchat" })))).toMatchObject({
      ok: false,
      error: { code: "invalid_claims" },
    });
    expect(await strict.verify(await hs256(claims({ iss: "https://auth.example", aud: "other" })))).toMatchObject({
      ok: false,
      error: { code: "invalid_claims" },
    });
    expect(await strict.verify(await hs256(claims()))).toMatchObject({ ok: false, error: { code: "missing_claims" } });
  });

  it("maps refusals to 401, and unreachable keys to 503", () => {
    expect(tokenErrorStatus("expired")).toBe(401);
    expect(tokenErrorStatus("key_unavailable")).toBe(503);
  });

  describe("with an RS256 public key", () => {
    let rsa: TokenVerifier;
    let privateKey: CryptoKey;
    let publicPem: string;

    beforeAll(async () => {
      const pair = await generateKeyPair("RS256", { extractable: true });
      privateKey = pair.privateKey;
      publicPem = await exportSPKI(pair.publicKey);
      rsa = await createJwtVerifier({ jwtSecret: secret, acceptHs256: false, publicKey: publicPem });
    });

    it("accepts a token signed with the private key", async () => {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256" }).sign(privateKey);
      expect(await rsa.verify(token)).toMatchObject({ ok: true, token: { userId: "user-1" } });
    });

    it("accepts the key with escaped newlines, as environment variables carry it", async () => {
      const escaped = await createJwtVerifier({ jwtSecret: secret, acceptHs256: false, publicKey: publicPem.replaceAll("\n", "\\n") });
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256" }).sign(privateKey);
      expect(await escaped.verify(token)).toMatchObject({ ok: true });
    });

    it("refuses a token signed by another key pair", async () => {
      const other = await generateKeyPair("RS256");
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256" }).sign(other.privateKey);
      expect(await rsa.verify(token)).toMatchObject({ ok: false, error: { code: "invalid_signature" } });
    });

    it("refuses HS256 tokens, even one using the public key as its HMAC secret", async () => {
      expect(await rsa.verify(await hs256(claims()))).toMatchObject({ ok: false, error: { code: "unsupported_algorithm" } });
      const confused = await hs256(claims(), new TextEncoder().encode(publicPem));
      expect(await rsa.verify(confused)).toMatchObject({ ok: false, error: { code: "unsupported_algorithm" } });
    });
  });

  describe("with a JWKS URL", () => {
    let server: Server;
    let jwksUrl: string;
    let privateKey: CryptoKey;

    beforeAll(async () => {
      const pair = await generateKeyPair("RS256", { extractable: true });
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: "key-1", alg: "RS256", use: "sig" };
      server = createServer((_request, response) => {
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it("accepts a token whose kid is in the key set, refuses one whose kid is not", async () => {
      const jwks = await createJwtVerifier({ jwtSecret: secret, acceptHs256: false, jwksUrl });
      const good = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: "key-1" }).sign(privateKey);
      expect(await jwks.verify(good)).toMatchObject({ ok: true });
      const unknownKid = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: "key-2" }).sign(privateKey);
      expect(await jwks.verify(unknownKid)).toMatchObject({ ok: false, error: { code: "invalid_signature" } });
    });

    it("reports unreachable keys as key_unavailable", async () => {
      const unreachable = await createJwtVerifier({ jwtSecret: secret, acceptHs256: false, jwksUrl: "http://127.0.0.1:9/jwks.json" });
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: "key-1" }).sign(privateKey);
      expect(await unreachable.verify(token)).toMatchObject({ ok: false, error: { code: "key_unavailable" } });
    });
  });
});
