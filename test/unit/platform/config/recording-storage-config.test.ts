import { describe, expect, it } from "vitest";
import { loadSlices, type ConfigError } from "../../../../src/platform/config/config-slice.js";
import { recordingStorageConfig } from "../../../../src/platform/config/recording-storage-config.js";

const load = (env: Record<string, string>) => loadSlices(env, [recordingStorageConfig]).recordingStorage;

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    return [...(error as ConfigError).problems];
  }
  return [];
}

describe("the recordings' storage configuration", () => {
  it("stores in the local stack's S3Proxy when nothing is set", () => {
    expect(load({})).toEqual({ target: { kind: "stack" }, bucket: "quikchat-recordings", region: "us-east-1", maxBytes: 1024 ** 3 });
  });

  it("stores in AWS S3 itself in production without S3_ENDPOINT, never in a local stack", () => {
    expect(load({ NODE_ENV: "production", S3_REGION: "eu-west-3" })).toMatchObject({ target: { kind: "aws" }, region: "eu-west-3" });
  });

  it("takes an S3-compatible endpoint with its key pair", () => {
    const settings = load({
      S3_ENDPOINT: "http://s3:80/",
      S3_BUCKET: "calls.recordings-1",
      S3_ACCESS_KEY_ID: "AKID",
      S3_SECRET_ACCESS_KEY: "secret",
      RECORDING_MAX_BYTES: "1048576",
    });
    expect(settings).toEqual({
      target: { kind: "endpoint", endpoint: "http://s3:80", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" } },
      bucket: "calls.recordings-1",
      region: "us-east-1",
      maxBytes: 1_048_576,
    });
  });

  it("leaves the credentials to the SDK's default chain when no key pair is given", () => {
    expect(load({ S3_ENDPOINT: "https://s3.example.com" }).target).toEqual({ kind: "endpoint", endpoint: "https://s3.example.com" });
  });

  it("refuses half a key pair, a bad bucket name or endpoint, and a limit one PUT cannot carry, naming each variable", () => {
    const problems = problemsOf({
      S3_ENDPOINT: "s3.example.com",
      S3_BUCKET: "Recordings",
      RECORDING_MAX_BYTES: String(6 * 1024 ** 3),
    }).map((problem) => problem.split(":")[0]);
    expect(problems.sort()).toEqual(["RECORDING_MAX_BYTES", "S3_BUCKET", "S3_ENDPOINT"]);
    expect(problemsOf({ S3_ACCESS_KEY_ID: "AKID" })).toEqual(["S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither"]);
  });
});
