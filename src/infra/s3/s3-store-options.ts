import type { RecordingStorageSettings } from "../../platform/config/recording-storage-config.js";
import { LOCAL_S3PROXY, s3proxyCredentials } from "../stack/stack.js";
import type { S3ObjectStoreOptions } from "./s3-object-store.js";

/**
 * The options of `openS3ObjectStore` for the recordings' storage settings. The local stack's
 * S3Proxy is reached on loopback with the key pair kept in the stack's folder (`stackDir`); that
 * rejects with a one-line StackError when the stack never started it.
 */
export async function s3StoreOptions(settings: RecordingStorageSettings, stackDir: string): Promise<S3ObjectStoreOptions> {
  const { target, bucket, region, maxBytes } = settings;
  const common = { bucket, region, maxBytes };
  switch (target.kind) {
    case "stack":
      return {
        ...common,
        endpoint: `http://${LOCAL_S3PROXY.host}:${LOCAL_S3PROXY.port}`,
        credentials: await s3proxyCredentials(stackDir, LOCAL_S3PROXY.port),
      };
    case "endpoint":
      return { ...common, endpoint: target.endpoint, ...(target.credentials ? { credentials: target.credentials } : {}) };
    case "aws":
      return { ...common, ...(target.credentials ? { credentials: target.credentials } : {}) };
  }
}
