import type { GatewayKit, GatewayPart } from "../../../platform/context-module.js";
import { JOINED_CONVERSATIONS } from "../../conversations/ports.js";
import { notificationRoutes } from "../routes.js";
import { notificationsUserPart } from "./notifications-user-part.js";

/** The notifications' part of a gateway: their part of `user:{userId}` and the REST acknowledgement. */
export function notificationsGateway(kit: GatewayKit): GatewayPart {
  const { hub, bus, logger, ports } = kit;
  const user = notificationsUserPart({ hub, bus, topicPrefix: kit.config.kafka.topicPrefix, logger, joined: () => ports.find(JOINED_CONVERSATIONS) });
  return {
    userChannel: user.open,
    lifecycle: user.lifecycle,
    routes: async (app) => {
      await app.register(notificationRoutes, { bus, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
    },
  };
}
