import type { Logger } from "../../infra/log/logger.js";

/** Someone on this gateway who follows a stream's deltas. */
export interface FeedListener<Delta> {
  onDelta(delta: Delta): void;
  /** The subscription was re-established after a Redis outage: deltas may have been missed. */
  onResync(): void;
}

/** Where a stream's live deltas come from (pub/sub on a gateway). */
export interface FeedSource<Delta> {
  /** Follows `streamId`; resolves once subscribed, with the function that stops following. */
  listen(streamId: string, listener: FeedListener<Delta>): Promise<() => void>;
}

/** The stored items of a stream, numbered 1, 2, 3 … by `seq` without gaps. */
export interface SequencedHistory<Item extends { readonly seq: number }> {
  /** Items with `afterSeq < seq < beforeSeq`, ascending, at most `limit`. */
  after(streamId: string, range: { readonly afterSeq: number; readonly beforeSeq?: number; readonly limit: number }): Promise<readonly Item[]>;
  /** The highest seq stored (0 when none). */
  lastSeq(streamId: string): Promise<number>;
}

export interface SequencedFeedOptions<Delta, Item extends { readonly seq: number }> {
  readonly streamId: string;
  /** The join's `last_seq`, as the client sent it (anything but a non-negative integer: no recovery). */
  readonly cursor: unknown;
  readonly source: FeedSource<Delta>;
  readonly history: SequencedHistory<Item>;
  /** The item a delta carries when it is numbered; undefined for deltas delivered as they come. */
  sequenced(delta: Delta): Item | undefined;
  /** Delivers one numbered item (each seq once, in order). */
  deliverItem(item: Item): void;
  /** Delivers a delta that carries no numbered item. */
  deliverOther(delta: Delta): void;
  /** Missed items a join recovers at most. */
  readonly maxRecovery: number;
  readonly logger: Logger;
}

/** What a join recovered, and the seq live delivery continues after. */
export interface Recovery<Item> {
  readonly last_seq: number;
  /** Absent without a cursor; false when more than `maxRecovery` were missed (the client pages through history). */
  readonly recovered?: boolean;
  /** The missed items, when recovered. */
  readonly items?: readonly Item[];
}

/** Page size of gap repair reads. */
const REPAIR_PAGE = 500;

/**
 * Opens one joined channel's feed of a numbered stream (a conversation's messages, a channel's
 * publications):
 *
 * - **Recovery on join.** With a cursor, the recovery holds every item after it (at most
 *   `maxRecovery`, else `recovered: false`). Either way it says `last_seq`, the seq live
 *   delivery continues after.
 * - **Gap repair.** A live numbered item whose seq skips ahead of the last one delivered is
 *   preceded by the missing range read from history; one at or below it is dropped. The client
 *   therefore sees every seq once, in order, whatever pub/sub lost or duplicated.
 * - Deltas that arrive while the join is being answered wait for it, so nothing is lost between
 *   the history read and the live subscription.
 */
export async function openSequencedFeed<Delta, Item extends { readonly seq: number }>(
  options: SequencedFeedOptions<Delta, Item>,
): Promise<{ readonly recovery: Recovery<Item>; close(): void }> {
  const { streamId, history, logger } = options;
  let last = 0;
  let live = false;
  const waiting: (Delta | "resync")[] = [];
  let queue = Promise.resolve();

  const deliverItems = (items: readonly Item[]) => {
    for (const item of items) {
      if (item.seq <= last) continue;
      options.deliverItem(item);
      last = item.seq;
    }
  };
  const repairUpTo = async (beforeSeq: number | undefined) => {
    for (;;) {
      const missing = await history.after(streamId, { afterSeq: last, ...(beforeSeq === undefined ? {} : { beforeSeq }), limit: REPAIR_PAGE });
      deliverItems(missing);
      if (missing.length < REPAIR_PAGE) return;
    }
  };
  /** Delivers `delta` at once, unless history must be read first: then the read and the delivery, to wait for. */
  const deliverNow = (delta: Delta | "resync"): Promise<void> | undefined => {
    if (delta === "resync") return repairUpTo(undefined);
    const item = options.sequenced(delta);
    if (item === undefined) {
      options.deliverOther(delta);
      return undefined;
    }
    if (item.seq <= last) return undefined;
    if (item.seq > last + 1) return repairUpTo(item.seq).then(() => deliverItems([item]));
    deliverItems([item]);
    return undefined;
  };
  const failed = (error: unknown) => logger.warn({ err: error, streamId }, "delta delivery failed");
  // Deltas waiting behind a history read: while there are any, later ones queue behind them (in
  // order); otherwise a delta is delivered synchronously, the common case, with no promise.
  let queued = 0;
  const enqueue = (delta: Delta | "resync") => {
    if (!live) return void waiting.push(delta);
    let next: Promise<void>;
    if (queued === 0) {
      let reading: Promise<void> | undefined;
      try {
        reading = deliverNow(delta);
      } catch (error) {
        return failed(error);
      }
      if (reading === undefined) return;
      next = reading;
    } else {
      next = queue.then(() => deliverNow(delta));
    }
    queued += 1;
    queue = next.catch(failed).finally(() => {
      queued -= 1;
    });
  };

  const stop = await options.source.listen(streamId, { onDelta: enqueue, onResync: () => enqueue("resync") });
  try {
    const recovery = await recover(streamId, options.cursor, history, options.maxRecovery);
    last = recovery.last_seq;
    live = true;
    for (const delta of waiting.splice(0)) enqueue(delta);
    return { recovery, close: stop };
  } catch (error) {
    stop();
    throw error;
  }
}

async function recover<Item extends { readonly seq: number }>(
  streamId: string,
  cursor: unknown,
  history: SequencedHistory<Item>,
  maxRecovery: number,
): Promise<Recovery<Item>> {
  if (typeof cursor !== "number" || !Number.isSafeInteger(cursor) || cursor < 0) {
    return { last_seq: await history.lastSeq(streamId) };
  }
  const missed = await history.after(streamId, { afterSeq: cursor, limit: maxRecovery + 1 });
  if (missed.length > maxRecovery) return { last_seq: await history.lastSeq(streamId), recovered: false };
  // The cursor is trusted even beyond what history holds yet: a sender knows its seq from the
  // reply before the projection has written it, and must not get that item again.
  return { last_seq: missed.at(-1)?.seq ?? cursor, recovered: true, items: missed };
}
