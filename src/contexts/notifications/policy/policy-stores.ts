import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../platform/contract/event-records.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../platform/projection/redis-checkpointed-store.js";
import type { CallsEvent, EventMeta, HuddlesEvent } from "../../../platform/contract/generated/avro-types.js";
import { callStep, type EventPosition, type RingingCall } from "./call-policy.js";
import { huddleStep, type InvitingHuddle } from "./huddle-policy.js";
import type { RequestedNotification } from "./message-policy.js";
import { queueReads, readsOf } from "./conversation-reads.js";
import { previewOf } from "./message-policy.js";
import { policyKeys, type OutboxEntry, type PendingMessage } from "./policy-model.js";

/** The names of the policy's projections: their consumer groups and checkpoints. */
export const NOTIFY_MESSAGES_PROJECTION = "notify-messages";
export const NOTIFY_CALLS_PROJECTION = "notify-calls";
export const NOTIFY_HUDDLES_PROJECTION = "notify-huddles";

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

/** How long the policy remembers a call or a huddle whose end it never sees (renewed by each of its events). */
const FOLLOWED_TTL_MS = 86_400_000;

/** How one context's events become notifications through an outbox ({@link RedisOutboxPolicyStore}). */
interface OutboxPolicy<E extends { readonly data: { readonly meta: EventMeta } }, S> {
  /** The event a record carries, undefined for any other record. */
  readonly eventOf: (record: ConsumedRecord) => E | undefined;
  /** The call or huddle the event is about: its key, and the notifications' correlation id. */
  readonly subjectOf: (event: E) => string;
  /** The users whose names the event's notifications may show, given what was stored of its subject. */
  readonly namedBy: (event: E, stored: S | undefined) => readonly string[];
  /** The subject after the event (undefined: forgotten) and the notifications the event calls for. */
  readonly step: (stored: S | undefined, event: E, position: EventPosition, now: number, nameOf: (userId: string) => string) => { readonly state: S | undefined; readonly notifications: readonly RequestedNotification[] };
}

/**
 * The calls or huddles as the policy follows them (`<keyPrefix>call:` / `huddle:<id>`), with
 * their checkpoint, and the outbox of the notifications decided (see `callStep`, `huddleStep`):
 * both written with the checkpoint, so a notification is decided once, and requested (by the
 * flusher, from the outbox) at least once.
 */
class RedisOutboxPolicyStore<E extends { readonly data: { readonly meta: EventMeta } }, S> extends RedisCheckpointedStore<number> {
  constructor(
    redis: Redis,
    private readonly keys: { readonly checkpoint: string; readonly keyPrefix: string; readonly outbox: string; readonly subject: (id: string) => string },
    private readonly policy: OutboxPolicy<E, S>,
    private readonly nameOf: (userIds: readonly string[]) => Promise<ReadonlyMap<string, string>>,
    private readonly now: () => number,
  ) {
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: keys.keyPrefix });
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<number>> {
    const { policy } = this;
    const events = fresh.flatMap((record) => {
      const event = policy.eventOf(record);
      return event === undefined ? [] : [{ record, event }];
    });
    const ids = [...new Set(events.map(({ event }) => policy.subjectOf(event)))];
    const subjects = new Map<string, S | undefined>();
    if (ids.length > 0) {
      const stored = await this.redis.mget(...ids.map((id) => this.keys.subject(id)));
      ids.forEach((id, index) => subjects.set(id, parseJson<S>(stored[index] ?? null)));
    }
    const named = events.flatMap(({ event }) => policy.namedBy(event, subjects.get(policy.subjectOf(event))));
    const names = await this.nameOf([...new Set(named)]);
    const outbox: OutboxEntry[] = [];
    const now = this.now();
    for (const { record, event } of events) {
      const id = policy.subjectOf(event);
      const step = policy.step(subjects.get(id), event, record, now, (userId) => names.get(userId) ?? userId);
      subjects.set(id, step.state);
      for (const notification of step.notifications) outbox.push({ workspaceId: event.data.meta.workspaceId, correlationId: id, notification });
    }
    const write = (transaction: ChainableCommander) => {
      for (const [id, state] of subjects) {
        if (state === undefined) transaction.del(this.keys.subject(id));
        else transaction.set(this.keys.subject(id), JSON.stringify(state), "PX", FOLLOWED_TTL_MS);
      }
      if (outbox.length > 0) transaction.rpush(this.keys.outbox, ...outbox.map((entry) => JSON.stringify(entry)));
    };
    return { outcome: outbox.length, write };
  }
}

/** The live calls as the policy follows them and their outbox: `incoming_call` and `missed_call` ({@link callStep}). */
export class RedisCallsPolicyStore extends RedisOutboxPolicyStore<CallsEvent, RingingCall> {
  constructor(redis: Redis, prefix: string, nameOf: (userIds: readonly string[]) => Promise<ReadonlyMap<string, string>>, now: () => number = Date.now) {
    const keys = policyKeys(prefix).calls;
    const policy: OutboxPolicy<CallsEvent, RingingCall> = {
      eventOf: (record) => eventOf(record, "calls"),
      subjectOf: (event) => event.data.callId,
      namedBy: (event, stored) => (event.type === "CallStarted" ? [event.data.callerId] : stored === undefined ? [] : [stored.callerId]),
      step: (stored, event, position, at, nameOfUser) => {
        const step = callStep(stored, event, position, at, nameOfUser);
        return { state: step.call, notifications: step.notifications };
      },
    };
    super(redis, { ...keys, subject: keys.call }, policy, nameOf, now);
  }
}

/**
 * The live huddles as the policy follows them and their outbox: `huddle_invite` for each
 * invitation ({@link huddleStep}) younger than `maxAgeMs`.
 */
export class RedisHuddlesPolicyStore extends RedisOutboxPolicyStore<HuddlesEvent, InvitingHuddle> {
  constructor(redis: Redis, prefix: string, timing: PolicyTiming, nameOf: (userIds: readonly string[]) => Promise<ReadonlyMap<string, string>>) {
    const keys = policyKeys(prefix).huddles;
    const policy: OutboxPolicy<HuddlesEvent, InvitingHuddle> = {
      eventOf: (record) => eventOf(record, "huddles"),
      subjectOf: (event) => event.data.huddleId,
      namedBy: (event) => (event.type === "HuddleParticipantsInvited" ? [event.data.meta.actorId] : []),
      step: (stored, event, position, at, nameOfUser) => {
        const step = huddleStep(stored, event, position, at, timing.maxAgeMs, nameOfUser);
        return { state: step.huddle, notifications: step.notifications };
      },
    };
    super(redis, { ...keys, subject: keys.huddle }, policy, nameOf, timing.now ?? Date.now);
  }
}

function parseJson<T>(json: string | null): T | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}
