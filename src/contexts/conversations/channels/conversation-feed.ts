import type { Logger } from "../../../infra/log/logger.js";
import type { GatewayMetrics } from "../../../infra/metrics/service-metrics.js";
import type { ConversationDelta, HistoryMessage, HistoryStore } from "../projections/history/history-port.js";
import type { ConversationDelivery } from "./dialects.js";
import type { DeltaListener } from "./delta-fanout.js";

/** Sends one delivery to the client, in the channel's dialect. */
export type Deliver = (delivery: ConversationDelivery, payload: Record<string, unknown>) => void;

/** What joining a conversation's feed answers, and how to stop it. */
export interface OpenFeed {
  readonly response: Record<string, unknown>;
  close(): void;
}

/** Delivers a conversation's messages to one joined channel, in seq order, each once. */
export interface ConversationFeed {
  open(conversationId: string, params: Record<string, unknown>, deliver: Deliver): Promise<OpenFeed>;
}

export type HistoryReader = Pick<HistoryStore, "messages" | "lastSeq">;

/** Where live deltas come from (a `DeltaFanout` on a gateway). */
export interface DeltaSource {
  listen(conversationId: string, listener: DeltaListener): Promise<() => void>;
}

/**
 * The `message:new` payload of a history message: one frozen object per message, shared by
 * every socket it goes to, so that the frame is encoded once (see `encodeFrame`).
 */
export function messagePayload(message: HistoryMessage): Record<string, unknown> {
  let payload = payloads.get(message);
  if (payload === undefined) payloads.set(message, (payload = Object.freeze({ ...message })));
  return payload;
}

const payloads = new WeakMap<object, Readonly<Record<string, unknown>>>();

/**
 * The epoch milliseconds at which a delta's event happened: a new message's `sentAt`, an edit's
 * `editedAt`, a deletion's `deletedAt`; undefined for kinds that carry no time (reactions, receipts).
 */
export function deltaTime(delta: ConversationDelta): number | undefined {
  switch (delta.kind) {
    case "message_new":
      return delta.message.sentAt;
    case "message_edited":
      return delta.editedAt;
    case "message_deleted":
      return delta.deletedAt;
    default:
      return undefined;
  }
}

export interface ConversationFeedOptions {
  /** Missed messages a join recovers at most; default 500. */
  readonly maxRecovery?: number;
  /** Observes `quikchat_event_delivery_seconds` for each live push (not for join recovery). */
  readonly metrics?: Pick<GatewayMetrics, "eventDeliverySeconds">;
  /** Epoch milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The feed of a conversation for one channel:
 *
 * - **Recovery on join.** With `{last_seq: n}` in the join payload, the join reply carries
 *   `messages` (every message after n, at most `maxRecovery`) and `recovered: true`; with more
 *   missed than that, `recovered: false` and the client pages through REST history. Either way
 *   the reply says `last_seq`, the seq live delivery continues after.
 * - **Gap repair.** A live `message_new` whose seq skips ahead of the last one delivered is
 *   preceded by the missing range read from history; one at or below it is dropped. A client
 *   therefore sees every seq once, in order, whatever pub/sub lost or duplicated.
 * - Deltas that arrive while the join is being answered wait for it, so nothing is lost
 *   between the history read and the live subscription.
 */
export function conversationFeed(
  fanout: DeltaSource,
  history: HistoryReader,
  logger: Logger,
  options: ConversationFeedOptions = {},
): ConversationFeed {
  const maxRecovery = options.maxRecovery ?? 500;
  const now = options.now ?? Date.now;
  const observeDelivery = (at: number | undefined) => {
    if (at !== undefined) options.metrics?.eventDeliverySeconds.observe(Math.max(0, now() - at) / 1000);
  };
  return {
    async open(conversationId, params, deliver) {
      let last = 0;
      let live = false;
      const waiting: (ConversationDelta | "resync")[] = [];
      let queue = Promise.resolve();

      const deliverMessages = (messages: readonly HistoryMessage[]) => {
        for (const message of messages) {
          if (message.seq <= last) continue;
          deliver("message_new", messagePayload(message));
          observeDelivery(message.sentAt);
          last = message.seq;
        }
      };
      const repairUpTo = async (beforeSeq: number | undefined) => {
        for (;;) {
          const missing = await history.messages(conversationId, { afterSeq: last, ...(beforeSeq === undefined ? {} : { beforeSeq }), limit: 500 });
          deliverMessages(missing);
          if (missing.length < 500) return;
        }
      };
      /** Delivers `item` at once, unless history must be read first: then the read and the delivery, to wait for. */
      const deliverNow = (item: ConversationDelta | "resync"): Promise<void> | undefined => {
        if (item === "resync") return repairUpTo(undefined);
        if (item.kind !== "message_new") {
          deliver(item.kind, deltaPayload(item));
          observeDelivery(deltaTime(item));
          return undefined;
        }
        if (item.seq <= last) return undefined;
        if (item.seq > last + 1) return repairUpTo(item.seq).then(() => deliverMessages([item.message]));
        deliverMessages([item.message]);
        return undefined;
      };
      const failed = (error: unknown) => logger.warn({ err: error, conversationId }, "delta delivery failed");
      // Items waiting behind a history read: while there are any, later items queue behind them
      // (in order); otherwise an item is delivered synchronously, the common case, with no promise.
      let queued = 0;
      const enqueue = (item: ConversationDelta | "resync") => {
        if (!live) return void waiting.push(item);
        let next: Promise<void>;
        if (queued === 0) {
          let reading: Promise<void> | undefined;
          try {
            reading = deliverNow(item);
          } catch (error) {
            return failed(error);
          }
          if (reading === undefined) return;
          next = reading;
        } else {
          next = queue.then(() => deliverNow(item));
        }
        queued += 1;
        queue = next.catch(failed).finally(() => {
          queued -= 1;
        });
      };

      const stop = await fanout.listen(conversationId, { onDelta: enqueue, onResync: () => enqueue("resync") });
      try {
        const response = await recover(conversationId, params.last_seq, history, maxRecovery);
        last = response.last_seq;
        live = true;
        for (const item of waiting.splice(0)) enqueue(item);
        return { response, close: stop };
      } catch (error) {
        stop();
        throw error;
      }
    },
  };
}

async function recover(
  conversationId: string,
  cursor: unknown,
  history: HistoryReader,
  maxRecovery: number,
): Promise<{ last_seq: number; recovered?: boolean; messages?: Record<string, unknown>[] }> {
  if (typeof cursor !== "number" || !Number.isSafeInteger(cursor) || cursor < 0) {
    return { last_seq: await history.lastSeq(conversationId) };
  }
  const missed = await history.messages(conversationId, { afterSeq: cursor, limit: maxRecovery + 1 });
  if (missed.length > maxRecovery) return { last_seq: await history.lastSeq(conversationId), recovered: false };
  // The cursor is trusted even beyond what history holds yet: a sender knows its seq from the
  // reply before the projection has written it, and must not get that message again.
  return { last_seq: missed.at(-1)?.seq ?? cursor, recovered: true, messages: missed.map(messagePayload) };
}

/** The client payload of a delta other than a new message: its fields without the kind. */
function deltaPayload(delta: Exclude<ConversationDelta, { kind: "message_new" }>): Record<string, unknown> {
  let payload = payloads.get(delta);
  if (payload === undefined) {
    const { kind: _kind, ...fields } = delta;
    payloads.set(delta, (payload = Object.freeze(fields)));
  }
  return payload;
}
