import type { Attachment, MessageType } from "../../../../platform/contract/generated/avro-types.js";
import type { ProjectionSink } from "../../../../platform/projection/projection-runtime.js";

/** One message as history keeps it: its latest content, and whether it was edited or deleted. */
export interface HistoryMessage {
  readonly id: string;
  readonly conversationId: string;
  /** 1, 2, 3 … per conversation, without gaps. */
  readonly seq: number;
  readonly senderId: string;
  readonly type: MessageType;
  /** Latest content; empty once deleted. */
  readonly content: string;
  readonly attachments: readonly Attachment[];
  readonly clientMsgId: string | null;
  readonly replyToMessageId: string | null;
  /** Epoch milliseconds. */
  readonly sentAt: number;
  /** Epoch milliseconds of the latest edit, null if never edited. */
  readonly editedAt: number | null;
  readonly revision: number;
  /** Epoch milliseconds, null unless deleted. */
  readonly deletedAt: number | null;
  /** Emoji → user ids, in the order they reacted. */
  readonly reactions: Readonly<Record<string, readonly string[]>>;
}

export interface HistoryRange {
  /** Only messages with a seq greater than this. */
  readonly afterSeq?: number;
  /** Only messages with a seq less than this. */
  readonly beforeSeq?: number;
  /** At most this many, 1..1000. */
  readonly limit: number;
  /**
   * With only `beforeSeq`, which end of the range to return: the newest `limit` messages before
   * it (`"newest"`, for paging backwards) or the oldest. Results are always in ascending seq.
   */
  readonly from?: "oldest" | "newest";
}

/**
 * The message history of every conversation, written by the history projection and read by
 * gateways (join recovery, gap repair) and REST.
 *
 * Contract, for every implementation (MySQL and MongoDB pass the same suite):
 * - `apply` (from {@link ProjectionSink}) stores the effect of the records and the checkpoint
 *   atomically (MySQL: one transaction; MongoDB: writes conditioned on the checkpoint/version,
 *   so a repeat changes nothing); records below the checkpoint are skipped; applying any
 *   record twice leaves history as applying it once.
 * - `messages` returns messages in ascending seq, never more than `limit`.
 * - `lastSeq` is the highest seq stored for the conversation (0 when none).
 */
export interface HistoryStore extends ProjectionSink {
  ensureSchema(): Promise<void>;
  messages(conversationId: string, range: HistoryRange): Promise<HistoryMessage[]>;
  lastSeq(conversationId: string): Promise<number>;
  /** Empties history and its checkpoints (rebuild). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the projections publish after a commit, as JSON on the Redis channel
 * {@link conversationDeltaChannel}: gateways with sockets on that conversation forward it.
 * Only `message_new` has a seq of its own; the others are delivered as they come.
 */
export type ConversationDelta =
  | { readonly kind: "message_new"; readonly conversationId: string; readonly seq: number; readonly message: HistoryMessage }
  | {
      readonly kind: "message_edited";
      readonly conversationId: string;
      readonly seq: number;
      readonly messageId: string;
      readonly content: string;
      readonly revision: number;
      readonly editedAt: number;
      readonly editedBy: string;
    }
  | { readonly kind: "message_deleted"; readonly conversationId: string; readonly seq: number; readonly messageId: string; readonly deletedAt: number; readonly deletedBy: string }
  | { readonly kind: "reaction_added" | "reaction_removed"; readonly conversationId: string; readonly seq: number; readonly messageId: string; readonly userId: string; readonly emoji: string }
  | { readonly kind: "read_receipt" | "delivery_receipt"; readonly conversationId: string; readonly seq: number; readonly userId: string }
  /** Published by the typing projection on a start (not on a renewal) and on a stop or expiry. */
  | { readonly kind: "typing"; readonly conversationId: string; readonly userId: string; readonly typing: boolean }
  /** Published by the presence projection to each conversation of a user whom the workspace starts or stops seeing online. */
  | { readonly kind: "user_online" | "user_offline"; readonly conversationId: string; readonly userId: string; readonly at: number };

/** The Redis pub/sub channel of one conversation's deltas. */
export const conversationDeltaChannel = (prefix: string, conversationId: string): string => `${prefix}conversation:{${conversationId}}:deltas`;
