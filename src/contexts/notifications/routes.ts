import type { FastifyPluginAsync } from "fastify";
import type { CommandBus } from "../../platform/gateway/command-bus.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { bearerAuth, errorResponses, guard, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import { deliveryAck, MAX_NOTIFICATION_ID, recordDelivery } from "./channels/delivery-acks.js";

export interface NotificationRoutesOptions {
  readonly bus: CommandBus;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

/**
 * `POST /api/notifications/:notification_id/ack` `{channel, deviceId?}`: the caller's device
 * received one of the caller's notifications (as `notification:ack` on `user:{userId}`, without a
 * socket's device to default from: a push names its `deviceId`): 200 `{notificationId}` once the
 * notifications aggregate recorded it (a repeat too), 404 `not_found` for a notification never
 * requested for the caller (whoever it was for), 503 when the aggregate did not answer in time.
 */
export const notificationRoutes: FastifyPluginAsync<NotificationRoutesOptions> = async (app, options) => {
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.post<{ Params: { notification_id: string }; Body: { channel: string; deviceId?: string | null } }>(
    "/api/notifications/:notification_id/ack",
    {
      schema: {
        tags: ["notifications"],
        security: bearerAuth,
        params: { type: "object", required: ["notification_id"], properties: { notification_id: { type: "string", minLength: 1, maxLength: MAX_NOTIFICATION_ID } } },
        body: {
          type: "object",
          required: ["channel"],
          additionalProperties: false,
          properties: { channel: { type: "string", enum: ["apns", "fcm", "email"] }, deviceId: { type: ["string", "null"], minLength: 1, maxLength: 128 } },
        },
        response: {
          200: { description: "The delivery is recorded by the notifications aggregate (a repeated acknowledgement too)", type: "object", required: ["notificationId"], properties: { notificationId: { type: "string" } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const ack = deliveryAck({ ...request.body, notificationId: request.params.notification_id }, {});
      await recordDelivery(options.bus, caller, ack);
      return reply.code(200).send({ notificationId: ack.notificationId });
    },
  );
};
