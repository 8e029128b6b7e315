import type { Redis } from "ioredis";
import type { RecordProducer } from "../../../infra/kafka/record-producer.js";
import { publishAll } from "../../../infra/redis/redis-publish.js";
import type { RequestNotification } from "../../../platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../platform/contract/topics.js";
import { NOTIFICATION_POLICY_ACTOR } from "../../../platform/domain/system-actors.js";
import { isSilent } from "../notification-categories.js";
import { notificationSummary, toUserChannel, type OutboxEntry, type ToUserPush } from "./policy-model.js";

/**
 * Asks for notifications: one `RequestNotification` per entry on `quikapp.notifications.commands`
 * (keyed by the recipient; `commandId` = the notification's id, so the processor's dedupe window
 * and the aggregate both recognise a repeat), then, once Kafka has them, a `notification` push to
 * each recipient's `user:{userId}` (none for a silent one: the sockets learn of reads from the
 * conversation's receipts). Rejects when Kafka did not take them: the caller keeps them
 * and asks again (same ids).
 */
export function notificationRequester(producer: RecordProducer, redis: Redis, topicPrefix: string, now: () => number = Date.now) {
  return async (entries: readonly OutboxEntry[]): Promise<void> => {
    if (entries.length === 0) return;
    await producer.send(
      entries.map(({ workspaceId, correlationId, notification }) => {
        const command: RequestNotification = {
          meta: { commandId: notification.notificationId, correlationId, actorId: NOTIFICATION_POLICY_ACTOR, workspaceId, issuedAt: now(), replyTo: null },
          ...notification,
        };
        return { topic: topicPrefix + TOPICS.notifications.commands, key: notification.userId, fullName: "quikchat.notifications.RequestNotification", value: command };
      }),
    );
    await publishAll(
      redis,
      entries.flatMap(({ workspaceId, notification }) => {
        if (isSilent(notification.category)) return [];
        const push: ToUserPush = { event: "notification", workspaceId, payload: notificationSummary(notification) };
        return [[toUserChannel(topicPrefix, notification.userId), JSON.stringify(push)] as const];
      }),
      "notification pushes",
    );
  };
}

export type RequestNotifications = ReturnType<typeof notificationRequester>;
