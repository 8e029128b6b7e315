import type Kafka from "node-rdkafka";
import { consume } from "../../infra/kafka/rdkafka-calls.js";
import type { Logger } from "../../infra/log/logger.js";
import type { BatchTransaction } from "./batch-transaction.js";
import { RestoreInterrupted } from "./changelog-reader.js";
import type { PartitionOwnership } from "./partition-ownership.js";
import { FatalProcessorError } from "./processor-errors.js";
import type { StallWatch } from "./stall-watch.js";
import { sleep } from "../sleep.js";

export interface ConsumeLoopDeps<S> {
  /** Subscribed to the commands topics and connected. */
  readonly consumer: Kafka.KafkaConsumer;
  /** Answered between batches; filters out records of partitions not (or no longer) owned. */
  readonly ownership: PartitionOwnership<S>;
  readonly batches: BatchTransaction<S>;
  /** Aborted when the processor stops: the loop ends after the batch in flight. */
  readonly signal: AbortSignal;
  /** Told each step of the loop; the batch names its own steps. */
  readonly watch: StallWatch;
  readonly logger: Logger;
}

/** Bounds of the batches, i.e. of the transactions; see {@link ConsumeLoop}. */
export interface BatchBounds {
  /** The bound while the processor keeps up (default 32). */
  readonly batchSize?: number;
  /** The bound a backlog may grow batches to (default 512); at least `batchSize`. */
  readonly maxBatchSize?: number;
}

/**
 * batchSize bounds more than the transaction: a consume call keeps reading while records keep
 * arriving within a millisecond of each other, so under a steady stream it returns only once it
 * holds n. 32 keeps that wait to tens of milliseconds at hundreds of commands per second (500 at
 * once held commands for up to a second at 500/s). A backlog is
 * another matter: its records are already fetched, a call returns at once with n of them, and a
 * transaction's round trips cost the same whatever its size, so the bound grows while batches
 * come back full at once (a full batch that took longer was a steady stream, which a larger
 * bound would only hold longer).
 */
const DEFAULT_BOUNDS = { batchSize: 32, maxBatchSize: 512 };
/** A consume call that returns a full batch within this was served from records already fetched. */
const BACKLOG_CONSUME_MS = 5;
/** How long a consume call waits for a first command; the loop checks rebalances and stopping in between. */
const CONSUME_WAIT_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/**
 * Consumes the commands topics in batches until the processor stops: answers rebalances between
 * batches, hands each batch of owned partitions to its transaction, and backs off (100 ms,
 * doubling up to 5 s) after a failed batch, which the next consume redoes. A fatal error ends
 * the loop: another instance takes the partitions over.
 *
 * A batch is whatever has arrived, up to the bound. While batches come back full at once (a
 * backlog) the bound doubles, up to `maxBatchSize`, and falls back to `batchSize` once one does
 * not.
 */
export class ConsumeLoop<S> {
  private readonly batchSize: number;
  private readonly maxBatchSize: number;
  /** The bound of the next batch: `batchSize`, doubled after each full batch served at once, up to `maxBatchSize`. */
  private nextBatchSize: number;
  private failures = 0;

  constructor(
    private readonly deps: ConsumeLoopDeps<S>,
    bounds: BatchBounds,
  ) {
    this.batchSize = bounds.batchSize ?? DEFAULT_BOUNDS.batchSize;
    this.maxBatchSize = Math.max(this.batchSize, bounds.maxBatchSize ?? DEFAULT_BOUNDS.maxBatchSize);
    this.nextBatchSize = this.batchSize;
  }

  /** Runs until the signal aborts (resolves `undefined`) or a batch fails fatally (resolves with the error). */
  async run(): Promise<FatalProcessorError | undefined> {
    const { consumer, ownership, batches, signal, watch, logger } = this.deps;
    while (!signal.aborted) {
      try {
        watch.enter("rebalances");
        await ownership.applyRebalances();
        if (signal.aborted) break;
        watch.enter("consume");
        const began = performance.now();
        const messages = await consume(consumer, this.nextBatchSize, CONSUME_WAIT_MS);
        const backlog = messages.length >= this.nextBatchSize && performance.now() - began < BACKLOG_CONSUME_MS;
        this.nextBatchSize = backlog ? Math.min(this.maxBatchSize, 2 * this.nextBatchSize) : this.batchSize;
        watch.enter("rebalances");
        await ownership.applyRebalances();
        const batch = messages.filter((message) => ownership.owns(message.partition));
        if (batch.length === 0) continue;
        await batches.run(batch);
        this.failures = 0;
      } catch (error) {
        if (error instanceof FatalProcessorError) {
          logger.error({ err: error }, "processor stopping: another instance will take its partitions over");
          return error;
        }
        if (error instanceof RestoreInterrupted) continue;
        watch.enter("backoff");
        await this.backOff(error);
      }
    }
    return undefined;
  }

  private async backOff(error: unknown): Promise<void> {
    this.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.failures - 1));
    this.deps.logger.warn({ err: error, retryInMs: delay }, "processor batch failed; retrying");
    await sleep(delay);
  }
}
