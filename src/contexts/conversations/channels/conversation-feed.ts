import type { Logger } from "../../../infra/log/logger.js";
import type { GatewayMetrics } from "../../../infra/metrics/service-metrics.js";
import type { ConversationDelta, HistoryMessage, HistoryStore } from "../projections/history/history-port.js";
import type { ConversationDelivery } from "./dialects.js";
import { openSequencedFeed, type FeedSource, type SequencedHistory } from "../../../platform/gateway/sequenced-feed.js";

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
export type DeltaSource = FeedSource<ConversationDelta>;

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
 * The feed of a conversation for one channel: a numbered stream of messages (see
 * `openSequencedFeed` for recovery on join and gap repair). With `{last_seq: n}` in the join
 * payload, the join reply carries `messages` (every message after n, at most `maxRecovery`) and
 * `recovered: true`; with more missed than that, `recovered: false` and the client pages through
 * REST history. Either way the reply says `last_seq`. Other deltas (edits, reactions, receipts,
 * typing) are delivered as they come.
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
  const messages: SequencedHistory<HistoryMessage> = {
    after: (conversationId, range) => history.messages(conversationId, range),
    lastSeq: (conversationId) => history.lastSeq(conversationId),
  };
  return {
    async open(conversationId, params, deliver) {
      const opened = await openSequencedFeed<ConversationDelta, HistoryMessage>({
        streamId: conversationId,
        cursor: params.last_seq,
        source: fanout,
        history: messages,
        sequenced: (delta) => (delta.kind === "message_new" ? delta.message : undefined),
        deliverItem: (message) => {
          deliver("message_new", messagePayload(message));
          observeDelivery(message.sentAt);
        },
        deliverOther: (delta) => {
          if (delta.kind === "message_new") return;
          deliver(delta.kind, deltaPayload(delta));
          observeDelivery(deltaTime(delta));
        },
        maxRecovery,
        logger,
      });
      const { items, ...rest } = opened.recovery;
      return { response: items === undefined ? rest : { ...rest, messages: items.map(messagePayload) }, close: () => opened.close() };
    },
  };
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
