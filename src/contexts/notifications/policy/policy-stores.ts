import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../platform/contract/event-records.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../platform/projection/redis-checkpointed-store.js";
import { callStep, type RingingCall } from "./call-policy.js";
import { queueReads, readsOf } from "./conversation-reads.js";
import { previewOf } from "./message-policy.js";
import { policyKeys, type OutboxEntry, type PendingMessage } from "./policy-model.js";

/** The names of the policy's projections: their consumer groups and checkpoints. */
export const NOTIFY_MESSAGES_PROJECTION = "notify-messages";
export const NOTIFY_CALLS_PROJECTION = "notify-calls";

/** How the policy times what it keeps. */
export interface PolicyTiming {
  /** How long a burst gathers messages after its first one arrived. */
  readonly batchWindowMs: number;
  /** Messages older than this when the policy reads them notify nobody (a rebuild, a long outage). */
  readonly maxAgeMs: number;
  /** Epoch milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/** A batch's new messages, by conversation, for the `message` pushes. */
export type MessagesOutcome = ReadonlyMap<string, readonly PendingMessage[]>;

/** The new messages of a batch (pure): `MessageSent` events, with their previews. */
export function pendingMessages(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): Map<string, PendingMessage[]> {
  const byConversation = new Map<string, PendingMessage[]>();
  for (const record of records) {
    const event = eventOf(record, "messages");
    if (event?.type !== "MessageSent") continue;
    const { conversationId, messageId, seq, senderId, type, content, mentionedUserIds, meta } = event.data;
    const message: PendingMessage = {
      messageId,
      seq,
      senderId,
      type,
      preview: previewOf(type, content),
      mentionedUserIds,
      sentAt: meta.occurredAt,
      workspaceId: meta.workspaceId,
    };
    const list = byConversation.get(conversationId) ?? [];
    list.push(message);
    byConversation.set(conversationId, list);
  }
  return byConversation;
}

/**
 * The messages' bursts with their checkpoint: each new message (younger than `maxAgeMs`) joins
 * its conversation's burst, which is due `batchWindowMs` after its first message arrived. The
 * flusher empties due bursts; a burst survives a restart of either, and a message is in exactly
 * one burst (applying a record again changes nothing, its offset being below the checkpoint).
 * Each read (`MessageRead`) of a member notified of the conversation since their previous read
 * is queued for its silent notification (see `queueReads`), once likewise.
 */
export class RedisBurstStore extends RedisCheckpointedStore<MessagesOutcome> {
  private readonly keys;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly timing: PolicyTiming,
  ) {
    const keys = policyKeys(prefix).messages;
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: keys.keyPrefix });
    this.keys = keys;
  }

  protected override plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<MessagesOutcome>> {
    const now = (this.timing.now ?? Date.now)();
    const outcome = new Map<string, PendingMessage[]>();
    for (const [conversationId, messages] of pendingMessages(fresh)) {
      const recent = messages.filter((message) => now - message.sentAt <= this.timing.maxAgeMs);
      if (recent.length > 0) outcome.set(conversationId, recent);
    }
    const reads = readsOf(fresh);
    const write = (transaction: ChainableCommander) => {
      for (const [conversationId, messages] of outcome) {
        transaction.rpush(this.keys.burst(conversationId), ...messages.map((message) => JSON.stringify(message)));
        transaction.zadd(this.keys.due, "NX", now + this.timing.batchWindowMs, conversationId);
      }
      queueReads(transaction, this.prefix, reads);
    };
    return Promise.resolve({ outcome, write });
  }
}

/** How long the policy remembers a call whose end it never sees. */
const CALL_TTL_MS = 86_400_000;

/**
 * The live calls as the policy follows them, with their checkpoint, and the outbox of call
 * notifications decided (see `callStep`): both written with the checkpoint, so a notification is
 * decided once, and requested (by the flusher, from the outbox) at least once.
 */
export class RedisCallsPolicyStore extends RedisCheckpointedStore<number> {
  private readonly keys;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly nameOf: (userIds: readonly string[]) => Promise<ReadonlyMap<string, string>>,
    private readonly now: () => number = Date.now,
  ) {
    const keys = policyKeys(prefix).calls;
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: keys.keyPrefix });
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<number>> {
    const events = fresh.flatMap((record) => {
      const event = eventOf(record, "calls");
      return event === undefined ? [] : [{ record, event }];
    });
    const callIds = [...new Set(events.map(({ event }) => event.data.callId))];
    const calls = new Map<string, RingingCall | undefined>();
    if (callIds.length > 0) {
      const stored = await this.redis.mget(...callIds.map((callId) => this.keys.call(callId)));
      callIds.forEach((callId, index) => calls.set(callId, parseCall(stored[index] ?? null)));
    }
    const callers = events.flatMap(({ event }) => (event.type === "CallStarted" ? [event.data.callerId] : []));
    const known = [...calls.values()].flatMap((call) => (call === undefined ? [] : [call.callerId]));
    const names = await this.nameOf([...new Set([...callers, ...known])]);
    const outbox: OutboxEntry[] = [];
    const now = this.now();
    for (const { record, event } of events) {
      const { callId } = event.data;
      const step = callStep(calls.get(callId), event, record, now, (userId) => names.get(userId) ?? userId);
      calls.set(callId, step.call);
      for (const notification of step.notifications) outbox.push({ workspaceId: event.data.meta.workspaceId, correlationId: callId, notification });
    }
    const write = (transaction: ChainableCommander) => {
      for (const [callId, call] of calls) {
        if (call === undefined) transaction.del(this.keys.call(callId));
        else transaction.set(this.keys.call(callId), JSON.stringify(call), "PX", CALL_TTL_MS);
      }
      if (outbox.length > 0) transaction.rpush(this.keys.outbox, ...outbox.map((entry) => JSON.stringify(entry)));
    };
    return { outcome: outbox.length, write };
  }
}

function parseCall(json: string | null): RingingCall | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as RingingCall;
  } catch {
    return undefined;
  }
}
