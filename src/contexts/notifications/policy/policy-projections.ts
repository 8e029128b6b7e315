import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { RecordProducer } from "../../../infra/kafka/record-producer.js";
import { publishAll } from "../../../infra/redis/redis-publish.js";
import { TOPICS } from "../../../platform/contract/topics.js";
import type { RunningProjection } from "../../../platform/context-module.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../platform/projection/redis-projection.js";
import { notificationRequester } from "./notification-requester.js";
import type { RedisCheckpointedStore } from "../../../platform/projection/redis-checkpointed-store.js";
import { flushConversationReads, flushDueBursts, flushOutbox, invitationAdmission, type OutboxAdmission, type PolicyOutbox, type RecipientFacts } from "./policy-flushers.js";
import { messageSummary, toUserChannel, type ToUserPush } from "./policy-model.js";
import {
  NOTIFY_CALLS_PROJECTION,
  NOTIFY_HUDDLES_PROJECTION,
  NOTIFY_MESSAGES_PROJECTION,
  RedisBurstStore,
  RedisCallsPolicyStore,
  RedisHuddlesPolicyStore,
  type MessagesOutcome,
  type PolicyTiming,
} from "./policy-stores.js";

/** How often a flusher looks for due work, at most and at least. */
const MIN_TICK_MS = 50;
const MAX_TICK_MS = 250;
/** How often an outbox's flusher looks at it: an incoming call should ring, an invitation arrive, at once. */
const OUTBOX_TICK_MS = 100;

/** What the policy's projections need besides a Redis projection's own. */
export interface PolicyDeps extends RedisProjectionDeps {
  readonly facts: RecipientFacts;
  readonly timing: PolicyTiming;
}

/**
 * Runs `flush` every `tickMs` (one run at a time) until stopped; a failure is logged and the next
 * tick tries again (what was not flushed is still there).
 */
function every(tickMs: number, flush: () => Promise<unknown>, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(flush).catch(onError);
  }, tickMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** A producer of the policy's commands, connected. */
async function commandProducer(deps: PolicyDeps, name: string): Promise<RecordProducer> {
  const producer = new RecordProducer({ brokers: deps.config.kafka.brokers, clientId: `${deps.config.kafka.clientId}-${name}` }, deps.codec, deps.logger);
  await producer.connect();
  return producer;
}

/**
 * The policy for messages: projects `quikapp.messages.events` into bursts (`RedisBurstStore`)
 * and, once live, pushes `message` to the user channel of every member but the sender; a
 * flusher requests the notifications of each burst once due (`flushDueBursts`), and the silent
 * notifications of the reads that clear them (`flushConversationReads`).
 */
export async function startMessagesPolicy(deps: PolicyDeps): Promise<RunningProjection> {
  const prefix = deps.config.kafka.topicPrefix;
  const logger = deps.logger.child({ projection: NOTIFY_MESSAGES_PROJECTION });
  const producer = await commandProducer(deps, NOTIFY_MESSAGES_PROJECTION);
  const request = notificationRequester(producer, deps.redis, prefix);
  const { batchWindowMs, maxAgeMs } = deps.timing;
  const flusher = { redis: deps.redis, topicPrefix: prefix, request, logger, owner: randomUUID(), facts: deps.facts };
  const stop = every(
    Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(batchWindowMs / 4))),
    async () => {
      await flushDueBursts({ ...flusher, batchWindowMs, maxAgeMs });
      await flushConversationReads(flusher);
    },
    (error) => logger.warn({ err: error }, "notification bursts or reads not flushed; retrying"),
  );
  try {
    const runtime = await startRedisProjection(deps, {
      name: NOTIFY_MESSAGES_PROJECTION,
      topic: TOPICS.messages.events,
      store: (own) => new RedisBurstStore(own, prefix, deps.timing),
      afterCommit: async (outcome, _records, { catchingUp }) => {
        if (!catchingUp) await pushMessages(deps.redis, prefix, deps.facts, outcome);
      },
      onClose: async () => {
        await stop();
        await producer.close();
      },
    });
    return runtime;
  } catch (error) {
    await stop();
    await producer.close();
    throw error;
  }
}

/** `message` to each member but the sender of each new message. */
async function pushMessages(redis: Redis, prefix: string, facts: RecipientFacts, outcome: MessagesOutcome): Promise<void> {
  const pushes: [string, string][] = [];
  for (const [conversationId, messages] of outcome) {
    const conversation = await facts.conversation(conversationId);
    for (const message of messages) {
      for (const userId of conversation?.members ?? []) {
        if (userId === message.senderId) continue;
        const push: ToUserPush = { event: "message", workspaceId: message.workspaceId, conversationId, payload: messageSummary(conversationId, message, userId) };
        pushes.push([toUserChannel(prefix, userId), JSON.stringify(push)]);
      }
    }
  }
  await publishAll(redis, pushes, "message pushes");
}

/**
 * The policy for calls: projects `quikapp.calls.events` into the calls it follows and an outbox
 * of notifications (`RedisCallsPolicyStore`); a flusher requests what the outbox holds.
 */
export function startCallsPolicy(deps: PolicyDeps): Promise<RunningProjection> {
  const prefix = deps.config.kafka.topicPrefix;
  return startOutboxPolicy(deps, {
    name: NOTIFY_CALLS_PROJECTION,
    topic: TOPICS.calls.events,
    outbox: "calls",
    store: (own) => new RedisCallsPolicyStore(own, prefix, (userIds) => deps.facts.names(userIds)),
  });
}

/**
 * The policy for huddles: projects `quikapp.huddles.events` into the huddles it follows and an
 * outbox of invitations (`RedisHuddlesPolicyStore`); a flusher requests those still to push
 * (`invitationAdmission`): the huddle not seen to end, the invitee without a live socket and not
 * muting its conversation.
 */
export function startHuddlesPolicy(deps: PolicyDeps): Promise<RunningProjection> {
  const prefix = deps.config.kafka.topicPrefix;
  return startOutboxPolicy(deps, {
    name: NOTIFY_HUDDLES_PROJECTION,
    topic: TOPICS.huddles.events,
    outbox: "huddles",
    store: (own) => new RedisHuddlesPolicyStore(own, prefix, deps.timing, (userIds) => deps.facts.names(userIds)),
    admit: invitationAdmission(deps.redis, prefix, deps.facts),
  });
}

/** A checkpointed projection that fills an outbox, with the flusher that empties it every {@link OUTBOX_TICK_MS}. */
async function startOutboxPolicy(
  deps: PolicyDeps,
  policy: { readonly name: string; readonly topic: string; readonly outbox: PolicyOutbox; readonly store: (own: Redis) => RedisCheckpointedStore<number>; readonly admit?: OutboxAdmission },
): Promise<RunningProjection> {
  const prefix = deps.config.kafka.topicPrefix;
  const logger = deps.logger.child({ projection: policy.name });
  const producer = await commandProducer(deps, policy.name);
  const request = notificationRequester(producer, deps.redis, prefix);
  const owner = randomUUID();
  const stop = every(
    OUTBOX_TICK_MS,
    () => flushOutbox({ redis: deps.redis, topicPrefix: prefix, request, logger, owner }, policy.outbox, policy.admit),
    (error) => logger.warn({ err: error }, "notifications of the outbox not requested; retrying"),
  );
  try {
    return await startRedisProjection(deps, {
      name: policy.name,
      topic: policy.topic,
      store: policy.store,
      afterCommit: () => Promise.resolve(),
      onClose: async () => {
        await stop();
        await producer.close();
      },
    });
  } catch (error) {
    await stop();
    await producer.close();
    throw error;
  }
}
