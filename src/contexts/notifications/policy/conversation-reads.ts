import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../infra/kafka/record-consumer.js";
import { redisScript } from "../../../infra/redis/redis-script.js";
import { eventOf } from "../../../platform/contract/event-records.js";
import type { ConversationRead, RequestedNotification } from "./message-policy.js";
import { policyKeys } from "./policy-model.js";

/**
 * How long the policy remembers that a member was notified of a conversation, and the member's
 * read cursor there, after its last change: a notification still on a phone after a week is
 * cleared by the next one of its conversation instead.
 */
export const NOTIFIED_TTL_MS = 7 * 86_400_000;

/** The reads of a batch (pure): `MessageRead` events, in order. */
export function readsOf(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): ConversationRead[] {
  return records.flatMap((record) => {
    const event = eventOf(record, "messages");
    if (event?.type !== "MessageRead") return [];
    const { conversationId, userId, seq, meta } = event.data;
    return [{ workspaceId: meta.workspaceId, conversationId, userId, readSeq: seq }];
  });
}

/** The field of a member's read in `reads-due`: what its silent notification is requested with. */
export function readsDueField(read: Pick<ConversationRead, "workspaceId" | "conversationId" | "userId">): string {
  return JSON.stringify([read.workspaceId, read.conversationId, read.userId]);
}

/** A `reads-due` entry back into its read; undefined for a field not written by {@link readsDueField}. */
export function readOfDueField(field: string, readSeq: string): ConversationRead | undefined {
  try {
    const parsed: unknown = JSON.parse(field);
    const seq = Number(readSeq);
    if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((part) => typeof part === "string") || !Number.isSafeInteger(seq)) return undefined;
    const [workspaceId, conversationId, userId] = parsed as [string, string, string];
    return { workspaceId, conversationId, userId, readSeq: seq };
  } catch {
    return undefined;
  }
}

/**
 * Per read (KEYS: the conversation's `read` and `notified` hashes, pairwise, then `reads-due`;
 * ARGV: the TTL, then userId, seq, field per read): a cursor that advances is kept; if the member
 * was notified of the conversation since, the read is due a silent notification, and once it
 * covers the last message notified, the member is no longer notified there.
 */
const MARK_READ = `
local due = KEYS[#KEYS]
for i = 1, (#KEYS - 1) / 2 do
  local read, notified = KEYS[2 * i - 1], KEYS[2 * i]
  local user, seq, field = ARGV[3 * i - 1], tonumber(ARGV[3 * i]), ARGV[3 * i + 1]
  if seq > tonumber(redis.call('HGET', read, user) or '0') then
    redis.call('HSET', read, user, seq)
    redis.call('PEXPIRE', read, ARGV[1])
    local upTo = redis.call('HGET', notified, user)
    if upTo then
      redis.call('HSET', due, field, seq)
      if seq >= tonumber(upTo) then redis.call('HDEL', notified, user) end
    end
  end
end
return 1
`;

/**
 * Queues, in the projection's MULTI, what `reads` change: run with the checkpoint, so a read is
 * applied once; and atomically with {@link markNotified}, so a read that races the flusher's
 * notification is never missed.
 */
export function queueReads(transaction: ChainableCommander, prefix: string, reads: readonly ConversationRead[]): void {
  if (reads.length === 0) return;
  const keys = policyKeys(prefix).messages;
  transaction.eval(
    MARK_READ,
    reads.length * 2 + 1,
    ...reads.flatMap((read) => [keys.read(read.conversationId), keys.notified(read.conversationId)]),
    keys.readsDue,
    NOTIFIED_TTL_MS,
    ...reads.flatMap((read) => [read.userId, read.readSeq, readsDueField(read)]),
  );
}

/**
 * Per notification (KEYS: the conversation's `read` and `notified` hashes, `reads-due`; ARGV:
 * the TTL, then userId, last seq notified, field): the member is notified up to that seq, unless
 * the policy has already read a cursor covering it (the read positions the burst was decided
 * from were behind): then the read is due a silent notification at once.
 */
const MARK_NOTIFIED = redisScript(`
for i = 2, #ARGV, 3 do
  local user, seq, field = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local read = tonumber(redis.call('HGET', KEYS[1], user) or '0')
  if read >= seq then
    if read > tonumber(redis.call('HGET', KEYS[3], field) or '0') then redis.call('HSET', KEYS[3], field, read) end
  elseif seq > tonumber(redis.call('HGET', KEYS[2], user) or '0') then
    redis.call('HSET', KEYS[2], user, seq)
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`);

/** Remembers that each recipient of `notifications` (a burst's, in one conversation) was notified up to the burst's last message. */
export async function markNotified(redis: Redis, prefix: string, workspaceId: string, conversationId: string, notifications: readonly RequestedNotification[]): Promise<void> {
  const marks = notifications.flatMap(({ userId, data }) => {
    const seq = Number(data.seq);
    return Number.isSafeInteger(seq) && seq > 0 ? [userId, seq, readsDueField({ workspaceId, conversationId, userId })] : [];
  });
  if (marks.length === 0) return;
  const keys = policyKeys(prefix).messages;
  await MARK_NOTIFIED.run(redis, [keys.read(conversationId), keys.notified(conversationId), keys.readsDue], [NOTIFIED_TTL_MS, ...marks]);
}

/** Removes the `reads-due` fields (ARGV, pairwise with the cursor they were read with) still at that cursor. */
export const TAKE_READS = redisScript(`
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
`);
