/**
 * The runtime cannot go on: its producer was fenced (another instance took over its
 * transactional id), librdkafka raised a fatal error, or a changelog could not be read. The
 * runtime stops; the partitions move to another instance, which resumes from the last commit.
 */
export class FatalProcessorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FatalProcessorError";
  }
}

/** A failure worth retrying the whole batch for (a transaction to abort, the registry unreachable). */
export class RetryBatchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RetryBatchError";
  }
}
