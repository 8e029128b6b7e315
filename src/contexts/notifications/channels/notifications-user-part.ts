import type { Logger } from "../../../infra/log/logger.js";
import type { DevicePlatform, NotificationChannel } from "../../../platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import { replying } from "../../../platform/phoenix/channel-replies.js";
import type { ClientInfo, ConnectionLifecycle } from "../../../platform/phoenix/connection-lifecycle.js";
import type { OpenUserChannelPart } from "../../../platform/phoenix/identity-families.js";
import { toUserChannel, type ToUserPush } from "../policy/policy-model.js";
import { deliveryAck, recordDelivery } from "./delivery-acks.js";

/** Whether a socket has joined a conversation's topic on this gateway. */
export interface JoinedConversations {
  joined(connectionId: string, conversationId: string): boolean;
}

/** The push channel a device of this platform is reached through: APNs for iOS, FCM for the others. */
export const pushChannelOf = (platform: DevicePlatform): NotificationChannel => (platform === "ios" ? "apns" : "fcm");

/**
 * The notifications' part of `user:{userId}`: pushes `message` (a compact summary of a new message
 * of a conversation this socket has not joined) and `notification` (each notification requested
 * for the user), both only within the socket's workspace; handles `notification:ack
 * {notificationId, channel?, deviceId?}` (defaults: the socket's `device_id`, and the channel of
 * its platform: `apns` for iOS, `fcm` otherwise), answered `ok {}` once the notifications aggregate
 * recorded it (a repeat too), an error reply `not_found` for a notification never requested for
 * the user. Its `lifecycle` keeps each socket's device for those defaults.
 */
export function notificationsUserPart(deps: {
  readonly hub: ChannelSource;
  readonly bus: CommandBus;
  readonly topicPrefix: string;
  readonly logger: Logger;
  readonly joined: () => JoinedConversations | undefined;
}): { readonly open: OpenUserChannelPart; readonly lifecycle: ConnectionLifecycle } {
  const devices = new Map<string, ClientInfo>();
  const open: OpenUserChannelPart = async (identity, outlet) => {
    const channel = toUserChannel(deps.topicPrefix, identity.userId);
    const stop = await deps.hub.listen(channel, {
      onMessage: (raw) => {
        const push = parseMessage<ToUserPush>(raw, channel, deps.logger);
        if (push === undefined || push.workspaceId !== identity.workspaceId) return;
        if (push.event === "message" && deps.joined()?.joined(identity.connectionId, push.conversationId) === true) return;
        outlet.push(push.event, { ...push.payload });
      },
      // Pub/sub does not replay: a client that missed pushes catches up by joining its conversations with their cursors.
      onResync: () => undefined,
    });
    return {
      events: {
        "notification:ack": (payload) =>
          replying(async () => {
            const device = devices.get(identity.connectionId);
            await recordDelivery(deps.bus, identity, deliveryAck(payload, device === undefined ? {} : { channel: pushChannelOf(device.platform), deviceId: device.deviceId }));
            return {};
          }),
      },
      leave: stop,
    };
  };
  return {
    open,
    lifecycle: {
      opened: (identity, client) => void devices.set(identity.connectionId, client),
      closed: (identity) => void devices.delete(identity.connectionId),
    },
  };
}
