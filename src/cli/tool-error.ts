/**
 * An operator mistake or an impossible request that a tool explains in one line (an unknown
 * context, a missing topic, a DLQ id that is not there): `quikchat` prints the message and exits 1,
 * without a stack trace.
 */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}
