import { z } from "zod";
import { defineSlice, optionalText, positiveInt, url, type SettingsOf } from "./config-slice.js";
import { nodeEnv } from "./core-config.js";

/** The largest object a single S3 PUT may carry (5 GiB); larger recordings would need multipart uploads. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

/** S3's bucket naming rules, in short: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An access key pair given in the configuration. */
export interface S3KeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Where recordings are stored: the local stack's S3Proxy (no S3_ENDPOINT, outside production; its
 * key pair is read from the stack's folder), an S3-compatible endpoint (path-style addressing), or
 * AWS S3 itself for S3_REGION (no S3_ENDPOINT, in production). Without a key pair in the
 * configuration, the last two use the AWS SDK's default credential chain (instance or task role,
 * AWS_* variables, profiles).
 */
export type S3Target =
  | { readonly kind: "stack" }
  | { readonly kind: "endpoint"; readonly endpoint: string; readonly credentials?: S3KeyPair }
  | { readonly kind: "aws"; readonly credentials?: S3KeyPair };

/** The object storage of call recordings: where, which bucket, and how large one recording may be. */
export const recordingStorageConfig = defineSlice({
  name: "recordingStorage",
  variables: {
    NODE_ENV: nodeEnv,
    S3_ENDPOINT: url(["http:", "https:"]).optional(),
    S3_BUCKET: z
      .string()
      .regex(BUCKET, "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")
      .default("quikchat-recordings"),
    S3_REGION: z.string().regex(/^[a-z0-9-]+$/, "must be a region name such as us-east-1").default("us-east-1"),
    S3_ACCESS_KEY_ID: optionalText,
    S3_SECRET_ACCESS_KEY: optionalText,
    RECORDING_MAX_BYTES: positiveInt.max(MAX_SINGLE_PUT_BYTES, `must be at most ${MAX_SINGLE_PUT_BYTES} (5 GiB, one S3 PUT)`).default(1024 ** 3),
  },
  problems: (env) =>
    (env.S3_ACCESS_KEY_ID === undefined) === (env.S3_SECRET_ACCESS_KEY === undefined) ? [] : ["S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither"],
  settings: (env) => ({
    target: s3Target(env),
    bucket: env.S3_BUCKET,
    region: env.S3_REGION,
    /** The largest recording stored; a larger upload is refused before any byte is sent. */
    maxBytes: env.RECORDING_MAX_BYTES,
  }),
});

function s3Target(env: {
  NODE_ENV: string;
  S3_ENDPOINT?: string | undefined;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
}): S3Target {
  const credentials =
    env.S3_ACCESS_KEY_ID !== undefined && env.S3_SECRET_ACCESS_KEY !== undefined
      ? { credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY } }
      : {};
  if (env.S3_ENDPOINT !== undefined) return { kind: "endpoint", endpoint: env.S3_ENDPOINT.replace(/\/+$/, ""), ...credentials };
  // Like every address left unset, storage then points at the local stack, outside production
  // only: production without S3_ENDPOINT means AWS S3 itself.
  return env.NODE_ENV === "production" ? { kind: "aws", ...credentials } : { kind: "stack" };
}

export type RecordingStorageSettings = SettingsOf<typeof recordingStorageConfig>;
