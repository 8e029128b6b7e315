import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import type { LeaveHuddle } from "../../../../platform/contract/generated/avro-types.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import {
  CLOSED_CONNECTION_MEMORY_MS,
  closedConnectionsOf,
  foldParticipations,
  huddleIdsOf,
  joinedConnectionsOf,
  leavesOfClosed,
  lostConnectionKeys,
  type Participation,
  type Seat,
} from "./lost-connections-model.js";

/**
 * Sends the removals a batch causes, acknowledged by Kafka, before the batch commits: a crash in
 * between redelivers the batch, whose removals carry the same command ids. Absent (a rebuild by
 * the operators' tools), nothing is sent.
 */
export type SendLeaves = (leaves: readonly LeaveHuddle[]) => Promise<void>;

/**
 * The participants' connections of every huddle (layout: {@link lostConnectionKeys}), folded from
 * `quikapp.huddles.events` with their checkpoint in one MULTI/EXEC. A participant who joins from
 * a connection the lost-connections store already knows closed is removed at once.
 *
 * Both stores WATCH the keys of each connection they read (its participations and its closed
 * mark) and write those the other reads, so of a join and a close of the same connection applied
 * at the same time, one commits first and the other plans again, seeing it: a removal is never
 * missed in between.
 */
export class RedisHuddleConnectionsStore extends RedisCheckpointedStore<undefined> {
  private readonly keys: ReturnType<typeof lostConnectionKeys>;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly send?: SendLeaves,
  ) {
    const keys = lostConnectionKeys(prefix);
    super(redis, keys.participations);
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<undefined>> {
    const huddleIds = huddleIdsOf(fresh);
    const joined = joinedConnectionsOf(fresh);
    const closedKeys = joined.map((connectionId) => this.keys.closed(connectionId));
    if (closedKeys.length > 0) await this.redis.watch(...closedKeys);
    const reads = this.redis.pipeline();
    for (const huddleId of huddleIds) reads.hgetall(this.keys.huddle(huddleId));
    if (closedKeys.length > 0) reads.mget(...closedKeys);
    const results = (await reads.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed) throw new Error("reading the huddles' connections failed", { cause: failed[0] });
    const stored = new Map<string, Map<string, Seat>>();
    huddleIds.forEach((huddleId, index) => stored.set(huddleId, seatsOf(results[index]?.[1] as Record<string, string>)));
    const marks = closedKeys.length > 0 ? (results[huddleIds.length]?.[1] as (string | null)[]) : [];
    const closed = new Set(joined.filter((_, index) => marks[index] !== null && marks[index] !== undefined));

    const { huddles, leaves } = foldParticipations(stored, closed, fresh);
    if (leaves.length > 0) await this.send?.(leaves);
    const write = (transaction: ChainableCommander) => {
      for (const [huddleId, after] of huddles) {
        const before = stored.get(huddleId) ?? new Map<string, Seat>();
        for (const [userId, seat] of before) {
          if (after.get(userId)?.connectionId !== seat.connectionId) transaction.hdel(this.keys.connection(seat.connectionId), huddleId);
        }
        for (const [userId, seat] of after) {
          const participation: Participation = { userId, workspaceId: seat.workspaceId };
          if (before.get(userId)?.connectionId !== seat.connectionId) transaction.hset(this.keys.connection(seat.connectionId), huddleId, JSON.stringify(participation));
        }
        transaction.del(this.keys.huddle(huddleId));
        if (after.size > 0) transaction.hset(this.keys.huddle(huddleId), Object.fromEntries([...after].map(([userId, seat]) => [userId, JSON.stringify(seat)])));
      }
    };
    return { outcome: undefined, write };
  }
}

/**
 * The connections presence closed lately, folded from `quikapp.presence.events` with their
 * checkpoint in one MULTI/EXEC: each `ConnectionClosed` removes the participant of every huddle
 * the connection is in (as {@link RedisHuddleConnectionsStore} knows it), and is remembered
 * {@link CLOSED_CONNECTION_MEMORY_MS} from its close for the joins read after it.
 */
export class RedisLostConnectionsStore extends RedisCheckpointedStore<undefined> {
  private readonly keys: ReturnType<typeof lostConnectionKeys>;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly send?: SendLeaves,
    private readonly now: () => number = Date.now,
  ) {
    const keys = lostConnectionKeys(prefix);
    super(redis, keys.lost);
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<undefined>> {
    const closings = closedConnectionsOf(fresh);
    if (closings.length === 0) return { outcome: undefined, write: () => undefined };
    const connectionIds = [...new Set(closings.map(({ connectionId }) => connectionId))];
    await this.redis.watch(...connectionIds.flatMap((connectionId) => [this.keys.connection(connectionId), this.keys.closed(connectionId)]));
    const reads = this.redis.pipeline();
    for (const connectionId of connectionIds) reads.hgetall(this.keys.connection(connectionId));
    const results = (await reads.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed) throw new Error("reading the connections' huddles failed", { cause: failed[0] });
    const participations = new Map(connectionIds.map((connectionId, index) => [connectionId, participationsOf(results[index]?.[1] as Record<string, string>)]));

    const leaves = closings.flatMap((closing) => leavesOfClosed(closing, participations.get(closing.connectionId) ?? new Map()));
    if (leaves.length > 0) await this.send?.(leaves);
    const now = this.now();
    const write = (transaction: ChainableCommander) => {
      for (const { connectionId, userId, occurredAt } of closings) {
        const forgetAt = occurredAt + CLOSED_CONNECTION_MEMORY_MS;
        if (forgetAt > now) transaction.set(this.keys.closed(connectionId), userId, "PXAT", forgetAt);
      }
    };
    return { outcome: undefined, write };
  }
}

/** A stored hash of seats; an entry that does not parse is left out (as if that participant had no connection). */
function seatsOf(hash: Readonly<Record<string, string>> | undefined): Map<string, Seat> {
  return new Map(Object.entries(hash ?? {}).flatMap(([userId, json]) => parsed<Seat>(json, "connectionId").map((seat) => [userId, seat] as const)));
}

function participationsOf(hash: Readonly<Record<string, string>> | undefined): Map<string, Participation> {
  return new Map(Object.entries(hash ?? {}).flatMap(([huddleId, json]) => parsed<Participation>(json, "userId").map((participation) => [huddleId, participation] as const)));
}

/** `json` as a T when it parses to an object with a string `field`; none otherwise. */
function parsed<T>(json: string, field: string): T[] {
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)[field] === "string" ? [value as T] : [];
  } catch {
    return [];
  }
}
