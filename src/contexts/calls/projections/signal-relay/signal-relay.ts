import type { Redis } from "ioredis";
import { publishAll } from "../../../../infra/redis/redis-publish.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { liveCallKeys, type SignalPush } from "../live-calls/live-calls-model.js";

/** The name of the signal relay: its consumer group and its checkpoints. */
export const SIGNAL_RELAY = "signal-relay";

/** The relay's keys: its checkpoint only; it keeps no read model. */
const relayKeys = (prefix: string) => ({ checkpoint: `${prefix}signals:checkpoint`, keyPrefix: `${prefix}signals:` });

/** The signals of relayed-signal records (pure), in record order, each for its recipient. */
export function signalPushes(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): SignalPush[] {
  return records.flatMap((record): SignalPush[] => {
    const event = eventOf(record, "signaling");
    if (event === undefined) return [];
    const { callId, fromUserId, toUserId, meta } = event.data;
    const route = { callId, from: fromUserId };
    const to = { userId: toUserId, workspaceId: meta.workspaceId, topic: "signal" } as const;
    switch (event.type) {
      case "OfferRelayed":
        return [{ ...to, kind: "offer", payload: { ...route, sdp: event.data.sdp } }];
      case "AnswerRelayed":
        return [{ ...to, kind: "answer", payload: { ...route, sdp: event.data.sdp } }];
      case "IceCandidateRelayed": {
        const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = event.data;
        return [{ ...to, kind: "ice-candidate", payload: { ...route, candidate, sdpMid, sdpMLineIndex, usernameFragment } }];
      }
    }
  });
}

/** The relay's checkpoint in Redis: a batch writes nothing else, and announces its signals. */
class SignalRelayCheckpoints extends RedisCheckpointedStore<SignalPush[]> {
  constructor(redis: Redis, prefix: string) {
    super(redis, relayKeys(prefix));
  }

  protected override plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<SignalPush[]>> {
    return Promise.resolve({ outcome: signalPushes(fresh), write: () => undefined });
  }
}

/**
 * Relays the calls' signals from `quikapp.signaling.events` to their recipients' sockets: after
 * each batch's checkpoint commits, publishes each signal on `<p>calls:to-user:<toUserId>`, in
 * record order (one partition holds a call's signals in the order the processor relayed them).
 * While catching up nothing is published: a signal that old is of no use to a peer connection.
 */
export function signalRelayStore(redis: Redis, prefix: string): RedisCheckpointedStore<SignalPush[]> {
  return new SignalRelayCheckpoints(redis, prefix);
}

export async function startSignalRelay(deps: RedisProjectionDeps): Promise<ProjectionRuntime> {
  const { config, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  const keys = liveCallKeys(prefix);
  return startRedisProjection(deps, {
    name: SIGNAL_RELAY,
    topic: TOPICS.signaling.events,
    store: (own) => signalRelayStore(own, prefix),
    afterCommit: async (signals, _records, { catchingUp }) => {
      if (catchingUp) return;
      await publishAll(redis, signals.map((signal) => [keys.toUser(signal.userId), JSON.stringify(signal)] as const), "signals");
    },
  });
}
