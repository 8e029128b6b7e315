import type { Redis } from "ioredis";
import { publishAll } from "../../../../infra/redis/redis-publish.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import type { HuddlesignalingEvent, SignalingEvent } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { liveCallKeys, type SignalKind, type SignalPush } from "../live-calls/live-calls-model.js";

/**
 * The signal relay delivers the relayed signals of one kind of room (calls on
 * `quikapp.signaling.events`, huddles on `quikapp.huddlesignaling.events`) to their recipients'
 * sockets. It keeps no read model: a checkpoint in Redis, and after each batch's commit one
 * publish per signal, in record order (one partition holds a room's signals in the order its
 * aggregate relayed them). While catching up nothing is published: a signal that old is of no use
 * to a peer connection.
 */
export interface SignalRelayRoute {
  /** Its consumer group and its name in `quikchat projections`. */
  readonly name: string;
  /** The signaling context whose events it relays. */
  readonly context: SignalingContext;
  /** Its checkpoint, and the prefix of every key it owns (a rebuild clears them). */
  readonly keys: { readonly checkpoint: string; readonly keyPrefix: string };
  /** The Redis channel a signal for `push.userId` in room `roomId` is published on. */
  channel(push: SignalPush, roomId: string): string;
}

/** The contexts of relayed signals: the calls' and the huddles'. */
export type SignalingContext = "signaling" | "huddlesignaling";

/** What each relayed-signal event is, whatever its room. */
const KIND_OF: Readonly<Record<SignalingEvent["type"] | HuddlesignalingEvent["type"], SignalKind>> = {
  OfferRelayed: "offer",
  AnswerRelayed: "answer",
  IceCandidateRelayed: "ice-candidate",
  HuddleOfferRelayed: "offer",
  HuddleAnswerRelayed: "answer",
  HuddleIceCandidateRelayed: "ice-candidate",
};

/** A signal for its recipient, with the room it is in (the call's or the huddle's id). */
export interface RoutedSignal {
  readonly push: SignalPush;
  readonly roomId: string;
}

/**
 * The signals of relayed-signal records of `context` (pure), in record order, each for its
 * recipient: the payload is the signal as sent (its room's id, SDP or candidate fields) with its
 * sender as `from`.
 */
export function signalPushes(records: readonly Pick<ConsumedRecord, "fullName" | "value">[], context: SignalingContext = "signaling"): RoutedSignal[] {
  return records.flatMap((record): RoutedSignal[] => {
    const event = eventOf(record, context);
    if (event === undefined) return [];
    const { meta, fromUserId, toUserId, ...signal } = event.data;
    const roomId = "callId" in signal ? signal.callId : signal.huddleId;
    const push: SignalPush = { userId: toUserId, workspaceId: meta.workspaceId, topic: "signal", kind: KIND_OF[event.type], payload: { ...signal, from: fromUserId } };
    return [{ push, roomId }];
  });
}

/** The relay's checkpoint in Redis: a batch writes nothing else, and announces its signals. */
class SignalRelayCheckpoints extends RedisCheckpointedStore<RoutedSignal[]> {
  constructor(
    redis: Redis,
    private readonly route: SignalRelayRoute,
  ) {
    super(redis, route.keys);
  }

  protected override plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<RoutedSignal[]>> {
    return Promise.resolve({ outcome: signalPushes(fresh, this.route.context), write: () => undefined });
  }
}

/** The name of the calls' signal relay: its consumer group and its checkpoints. */
export const SIGNAL_RELAY = "signal-relay";

/** The calls' relay: each signal on `<p>calls:to-user:<toUserId>`, which `webrtc:lobby` and `call:{callId}` follow. */
export function callSignalRoute(prefix: string): SignalRelayRoute {
  const keys = liveCallKeys(prefix);
  return {
    name: SIGNAL_RELAY,
    context: "signaling",
    keys: { checkpoint: `${prefix}signals:checkpoint`, keyPrefix: `${prefix}signals:` },
    channel: (push) => keys.toUser(push.userId),
  };
}

/** The relay's store of `route`: its checkpoint only (the tools' status and rebuild). */
export function signalRelayStore(redis: Redis, route: SignalRelayRoute): RedisCheckpointedStore<RoutedSignal[]> {
  return new SignalRelayCheckpoints(redis, route);
}

/** Runs the relay of `route` live: its context's events topic to its channels. */
export async function startSignalRelay(deps: RedisProjectionDeps, route: SignalRelayRoute): Promise<ProjectionRuntime> {
  const { redis } = deps;
  return startRedisProjection(deps, {
    name: route.name,
    topic: TOPICS[route.context].events,
    store: (own) => signalRelayStore(own, route),
    afterCommit: async (signals, _records, { catchingUp }) => {
      if (catchingUp) return;
      await publishAll(redis, signals.map(({ push, roomId }) => [route.channel(push, roomId), JSON.stringify(push)] as const), "signals");
    },
  });
}
