import type { Redis } from "ioredis";
import type { Logger } from "../../../infra/log/logger.js";
import { redisScript } from "../../../infra/redis/redis-script.js";
import { markNotified, readOfDueField, TAKE_READS } from "./conversation-reads.js";
import { badgeAfterRead, burstNotification, conversationReadNotification, type BurstConversation, type RequestedNotification } from "./message-policy.js";
import type { RequestNotifications } from "./notification-requester.js";
import { policyKeys, type OutboxEntry, type PendingMessage } from "./policy-model.js";

/** What the policy reads about a conversation's members when its burst is due. */
export interface RecipientFacts {
  /** The conversation and its members, or undefined when the read model does not know it. */
  conversation(conversationId: string): Promise<(BurstConversation & { readonly members: readonly string[] }) | undefined>;
  /** The read position of each member who read or sent in the conversation. */
  readSeqs(conversationId: string): Promise<ReadonlyMap<string, number>>;
  /** Whether a live socket of the user has joined the conversation's topic. */
  viewing(userId: string, conversationId: string): Promise<boolean>;
  /** Whether the user holds a live socket, whatever it joined. */
  connected(userId: string): Promise<boolean>;
  /** The members among `userIds` who muted the conversation. */
  mutedAmong(conversationId: string, userIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** Unread messages over all the user's conversations of the workspace. */
  badge(userId: string, workspaceId: string): Promise<number>;
  /** Display names, by user (absent: the user id is shown). */
  names(userIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

/** How long a flusher holds a burst (or the outbox) before another process may take it over. */
const LOCK_MS = 15_000;
/** Entries of the calls' outbox (or reads due) requested at once. */
const OUTBOX_BATCH = 100;

/**
 * Removes the first ARGV[1] messages of a burst (those just requested); messages that arrived
 * meanwhile stay and are due one window later; then releases the lock.
 */
const TAKE_BURST = redisScript(`
redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1)
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[2])
end
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return 1
`);

const UNLOCK = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export interface FlusherDeps {
  readonly redis: Redis;
  readonly topicPrefix: string;
  readonly request: RequestNotifications;
  readonly logger: Logger;
  /** Unique per process: the lock's owner. */
  readonly owner: string;
  readonly now?: () => number;
}

/**
 * Requests the notifications of every burst that is due: for each member of the conversation,
 * what `burstNotification` decides from the member's read position, sockets, mute and badge, in
 * one produce; then removes the burst's messages (a crash before that asks again with the same
 * ids). A burst of a conversation the read model does not know yet waits another window; one of
 * a conversation that does not exist is dropped. Resolves with the notifications requested.
 */
export async function flushDueBursts(deps: FlusherDeps & { readonly facts: RecipientFacts; readonly batchWindowMs: number; readonly maxAgeMs: number }): Promise<number> {
  const { redis, logger, facts } = deps;
  const now = (deps.now ?? Date.now)();
  const keys = policyKeys(deps.topicPrefix);
  const due = await redis.zrangebyscore(keys.messages.due, "-inf", now, "LIMIT", 0, 50);
  let requested = 0;
  for (const conversationId of due) {
    const lock = keys.lock(`burst:${conversationId}`);
    if ((await redis.set(lock, deps.owner, "PX", LOCK_MS, "NX")) === null) continue;
    try {
      const burstKey = keys.messages.burst(conversationId);
      const burst = (await redis.lrange(burstKey, 0, -1)).flatMap((json) => parse<PendingMessage>(json));
      const conversation = burst.length === 0 ? undefined : await facts.conversation(conversationId);
      let taken = burst.length;
      if (conversation !== undefined) {
        const notifications = await decideBurst(conversation, burst, facts);
        await deps.request(notifications.map((notification) => ({ workspaceId: conversation.workspaceId, correlationId: conversationId, notification })));
        await markNotified(redis, deps.topicPrefix, conversation.workspaceId, conversationId, notifications);
        requested += notifications.length;
      } else if (burst.length > 0 && now - burst[0]!.sentAt <= deps.maxAgeMs) {
        // Its messages exist, so the conversation does: the membership read model is behind. Wait a window.
        taken = 0;
      } else if (burst.length > 0) {
        logger.warn({ conversationId, messages: burst.length }, "notification burst of a conversation the membership read model never showed: dropped");
      }
      await TAKE_BURST.run(redis, [burstKey, keys.messages.due, lock], [taken, conversationId, now + deps.batchWindowMs, deps.owner]);
    } catch (error) {
      await UNLOCK.run(redis, [lock], [deps.owner]).catch(() => undefined);
      throw error;
    }
  }
  return requested;
}

/** The notifications of one burst, one per member who gets one. */
export async function decideBurst(
  conversation: BurstConversation & { readonly members: readonly string[] },
  burst: readonly PendingMessage[],
  facts: RecipientFacts,
): Promise<RequestedNotification[]> {
  const readSeqs = await facts.readSeqs(conversation.id);
  const muted = await facts.mutedAmong(conversation.id, conversation.members);
  const names = await facts.names([...new Set(burst.map((message) => message.senderId))]);
  const nameOf = (userId: string) => names.get(userId) ?? userId;
  const notifications: RequestedNotification[] = [];
  for (const userId of conversation.members) {
    const recipient = { userId, readSeq: readSeqs.get(userId) ?? 0, viewing: false, muted: muted.has(userId), badge: 0 };
    // The cheap facts first: most members are ruled out without asking presence or counting unread.
    if (burstNotification(conversation, burst, recipient, nameOf) === undefined) continue;
    if (await facts.viewing(userId, conversation.id)) continue;
    const badge = await facts.badge(userId, conversation.workspaceId);
    const notification = burstNotification(conversation, burst, { ...recipient, badge }, nameOf);
    if (notification !== undefined) notifications.push(notification);
  }
  return notifications;
}

/** Which outbox a flusher empties: the calls' or the huddles'. */
export type PolicyOutbox = "calls" | "huddles";

/**
 * Those of `entries` still worth asking for when they are requested: the entries held back are
 * dropped from the outbox with the others.
 */
export type OutboxAdmission = (entries: readonly OutboxEntry[]) => Promise<readonly OutboxEntry[]>;

/**
 * Requests what waits in an outbox, oldest first (those `admit` keeps: all by default), then
 * removes it (a crash in between asks again with the same ids). Resolves with the notifications
 * requested.
 */
export async function flushOutbox(deps: FlusherDeps, outbox: PolicyOutbox, admit: OutboxAdmission = (entries) => Promise.resolve(entries)): Promise<number> {
  const { redis } = deps;
  const keys = policyKeys(deps.topicPrefix);
  const key = keys[outbox].outbox;
  // One read per tick while the outbox is empty, as it mostly is.
  if ((await redis.llen(key)) === 0) return 0;
  return underLock(deps, `${outbox}-outbox`, async () => {
    let requested = 0;
    for (;;) {
      const raw = await redis.lrange(key, 0, OUTBOX_BATCH - 1);
      if (raw.length === 0) break;
      const admitted = await admit(raw.flatMap((json) => parse<OutboxEntry>(json)));
      await deps.request(admitted);
      await redis.ltrim(key, raw.length, -1);
      requested += admitted.length;
    }
    return requested;
  });
}

/**
 * Requests the silent `conversation_read` notification of each read due (see `queueReads`), with
 * the member's badge after the read, then removes those whose cursor has not moved meanwhile (a
 * newer read stays for the next tick; a crash in between asks again with the same ids).
 * Resolves with the notifications requested.
 */
export async function flushConversationReads(deps: FlusherDeps & { readonly facts: Pick<RecipientFacts, "readSeqs" | "badge"> }): Promise<number> {
  const { redis, facts } = deps;
  const key = policyKeys(deps.topicPrefix).messages.readsDue;
  if ((await redis.hlen(key)) === 0) return 0;
  return underLock(deps, "reads-due", async () => {
    const [, flat] = await redis.hscan(key, "0", "COUNT", OUTBOX_BATCH);
    const taken: string[] = [];
    const entries: OutboxEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i]!;
      const readSeq = flat[i + 1]!;
      taken.push(field, readSeq);
      const read = readOfDueField(field, readSeq);
      if (read === undefined) continue;
      // The read positions may not have this read yet: the badge is corrected by what it covers.
      // Counted before the cursor is read, so that a read landing in between is subtracted at most once.
      const counted = await facts.badge(read.userId, read.workspaceId);
      const readModelSeq = (await facts.readSeqs(read.conversationId)).get(read.userId) ?? 0;
      const badge = badgeAfterRead(counted, read.readSeq, readModelSeq);
      entries.push({ workspaceId: read.workspaceId, correlationId: read.conversationId, notification: conversationReadNotification(read, badge) });
    }
    await deps.request(entries);
    if (taken.length > 0) await TAKE_READS.run(redis, [key], taken);
    return entries.length;
  });
}

/** Runs `task` holding the policy's lock `name`, or resolves 0 when another process holds it. */
async function underLock(deps: FlusherDeps, name: string, task: () => Promise<number>): Promise<number> {
  const lock = policyKeys(deps.topicPrefix).lock(name);
  if ((await deps.redis.set(lock, deps.owner, "PX", LOCK_MS, "NX")) === null) return 0;
  try {
    return await task();
  } finally {
    await UNLOCK.run(deps.redis, [lock], [deps.owner]).catch(() => undefined);
  }
}

/**
 * The invitations still to push ({@link OutboxAdmission} of the huddles' outbox): not for a huddle
 * the policy saw end (its key gone), nor for an invitee who holds a live socket (they were told on
 * `user:{userId}`), nor for one who muted the huddle's conversation.
 */
export function invitationAdmission(redis: Redis, topicPrefix: string, facts: Pick<RecipientFacts, "connected" | "mutedAmong">): OutboxAdmission {
  const keys = policyKeys(topicPrefix).huddles;
  return async (entries) => {
    const huddleIds = [...new Set(entries.flatMap(({ notification }) => notification.huddleId ?? []))];
    const live = new Set<string>();
    if (huddleIds.length > 0) {
      const stored = await redis.mget(...huddleIds.map((huddleId) => keys.huddle(huddleId)));
      huddleIds.forEach((huddleId, index) => stored[index] != null && live.add(huddleId));
    }
    const admitted: OutboxEntry[] = [];
    for (const entry of entries) {
      const { userId, huddleId, conversationId } = entry.notification;
      if (huddleId === null || !live.has(huddleId)) continue;
      if (await facts.connected(userId)) continue;
      if (conversationId !== null && (await facts.mutedAmong(conversationId, [userId])).has(userId)) continue;
      admitted.push(entry);
    }
    return admitted;
  };
}

function parse<T>(json: string): T[] {
  try {
    return [JSON.parse(json) as T];
  } catch {
    return [];
  }
}
