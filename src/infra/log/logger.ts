import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/** Paths that never reach a log line: tokens, credentials, authorization headers. */
const REDACTED = [
  "token",
  "*.token",
  "params.token",
  "req.headers.authorization",
  "headers.authorization",
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  "password",
  "*.password",
  "secret",
  "*.secret",
];

/** The process logger; children add correlationId, commandId, topic, partition, connection id. */
export function createLogger(options: { level: string; name: string; nodeId?: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: options.nodeId === undefined ? { pid: process.pid } : { pid: process.pid, node: options.nodeId },
    redact: { paths: REDACTED, censor: "[redacted]" },
    serializers: { err: pino.stdSerializers.err },
  });
}
