import { randomUUID } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { DeviceHeartbeat, RegisterDevice, UnregisterDevice, UpdateDeviceToken } from "../../platform/contract/generated/avro-types.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { CommandBus } from "../../platform/gateway/command-bus.js";
import { bearerAuth, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { malformedToken, type PushService } from "./domain/push-tokens.js";
import type { Device } from "./domain/state.js";
import type { DevicesReadModel } from "./ports.js";

/** What the devices' routes use. */
export interface DeviceRoutesOptions {
  readonly devices: DevicesReadModel;
  readonly bus: CommandBus;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

/** The push providers a client names (seed 000): APNs' VoIP pushes are APNs with the device's PushKit token. */
type PushProvider = "apns" | "apns_voip" | "fcm";

interface RegisterBody {
  deviceId?: string;
  platform: RegisterDevice["platform"];
  pushToken: string;
  pushProvider: PushProvider;
  voipToken?: string;
  name?: string;
  model?: string;
  osVersion?: string;
  appVersion?: string;
  locale?: string;
}

const token = { type: "string", minLength: 1, maxLength: 4096 } as const;
const label = { type: "string", minLength: 1, maxLength: 128 } as const;
/** A BCP 47 language tag's shape (`en`, `pt-BR`, `zh-Hant-TW`). */
const locale = { type: "string", maxLength: 35, pattern: "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$" } as const;
const nullableString = { type: ["string", "null"] } as const;
const nullableTime = { type: ["integer", "null"], description: "epoch milliseconds" } as const;

const deviceSchema = {
  type: "object",
  required: ["deviceId", "platform", "pushProvider", "pushToken", "voipToken", "name", "model", "osVersion", "appVersion", "locale", "registeredAt", "lastSeenAt"],
  properties: {
    deviceId: { type: "string" },
    platform: { type: "string", enum: ["ios", "android", "web", "desktop"] },
    pushProvider: { type: ["string", "null"], enum: ["apns", "fcm", null], description: "the push service of its tokens; null: registered without push" },
    pushToken: { ...nullableString, description: "the token of alerts and silent pushes" },
    voipToken: { ...nullableString, description: "the PushKit token that rings incoming calls (iOS)" },
    name: nullableString,
    model: nullableString,
    osVersion: nullableString,
    appVersion: nullableString,
    locale: nullableString,
    registeredAt: { type: "integer", description: "epoch milliseconds of its first registration" },
    lastSeenAt: { type: "integer", description: "epoch milliseconds: its last registration, token change or heartbeat" },
    pushTokenAt: nullableTime,
    voipTokenAt: nullableTime,
  },
} as const;

const removedSchema = {
  type: "array",
  description: "The caller's devices this request unregistered: the least recently seen when an eleventh registers (evicted), another device id holding the same token (stale)",
  items: { type: "object", required: ["deviceId", "reason"], properties: { deviceId: { type: "string" }, reason: { type: "string" } } },
} as const;
const outcomeSchema = { type: "object", required: ["device", "removed"], properties: { device: deviceSchema, removed: removedSchema } } as const;

const deviceParams = { type: "object", required: ["device_id"], properties: { device_id: idSchema } } as const;
type DeviceParams = { Params: { device_id: string } };

/** A device as its owner sees it. */
function devicePayload(device: Device): Record<string, unknown> {
  const { pushChannel, ...rest } = device;
  return { ...rest, pushProvider: pushChannel };
}

/** The processor's answer to a devices command, as the client sees it. */
function outcomePayload(result: Readonly<Record<string, unknown>>): { device: Record<string, unknown> | null; removed: unknown[] } {
  const device = result.device as Device | null;
  return { device: device === null ? null : devicePayload(device), removed: (result.removed as unknown[] | undefined) ?? [] };
}

/** 400 with the reason when `token` cannot be a token of `service`. */
function checkToken(service: PushService, token: string, field: string): void {
  const problem = malformedToken(service, token);
  if (problem !== undefined) throw new ServiceError("invalid", `${field}: ${problem}`);
}

/**
 * The caller's own devices over REST (seed 000). Another user's device id is unknown here: 404,
 * as for any id the caller never registered. Commands answer once the devices processor decided.
 *
 * - `POST /api/devices`: registers a device, or refreshes it when its `deviceId` is registered
 *   already (201 new, 200 refreshed); without `deviceId` the server chooses one (a UUID),
 *   returned in the answer for the app to keep. `pushProvider` `apns_voip` registers the token
 *   as the device's PushKit VoIP token: an iPhone registers its alert token (`apns`) and its
 *   VoIP token (`apns_voip`) in two requests with the same `deviceId`, in either order, each
 *   keeping the other; or both at once with `pushProvider: apns` and `voipToken`. An eleventh
 *   device evicts the least recently seen (`removed` names it).
 * - `GET /api/devices`: the caller's devices, in registration order (the read model: a device
 *   registered a moment ago may take a few milliseconds to show).
 * - `PUT /api/devices/:device_id/token {pushToken, voipToken?}`: new tokens from the push
 *   service (the VoIP token kept unless given).
 * - `DELETE /api/devices/:device_id`: the device gets no more pushes (204).
 * - `POST /api/devices/:device_id/heartbeat`: the app is alive on it (its `lastSeenAt`).
 *
 * Tokens are checked against their service's shape: malformed, 400 with the reason.
 */
export const deviceRoutes: FastifyPluginAsync<DeviceRoutesOptions> = async (app, options) => {
  const { devices, bus } = options;
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.post<{ Body: RegisterBody }>(
    "/api/devices",
    {
      schema: {
        tags: ["devices"],
        security: bearerAuth,
        body: {
          type: "object",
          required: ["platform", "pushToken", "pushProvider"],
          additionalProperties: false,
          properties: {
            deviceId: { ...idSchema, description: "the app installation's id; the server chooses one when absent" },
            platform: { type: "string", enum: ["ios", "android", "web", "desktop"] },
            pushToken: { ...token, description: "APNs: 64+ hexadecimal digits; FCM: the registration token" },
            pushProvider: { type: "string", enum: ["apns", "apns_voip", "fcm"], description: "apns_voip: pushToken is the PushKit VoIP token" },
            voipToken: { ...token, description: "with pushProvider apns: the PushKit VoIP token as well" },
            name: label,
            model: label,
            osVersion: { type: "string", minLength: 1, maxLength: 32 },
            appVersion: { type: "string", minLength: 1, maxLength: 32 },
            locale,
          },
        },
        response: { 200: { ...outcomeSchema, description: "Refreshed: the device was registered already" }, 201: { ...outcomeSchema, description: "Registered" }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const body = request.body;
      const service: PushService = body.pushProvider === "fcm" ? "fcm" : "apns";
      checkToken(service, body.pushToken, "pushToken");
      if (body.voipToken !== undefined) {
        if (body.pushProvider !== "apns") throw new ServiceError("invalid", "voipToken: only with pushProvider apns (PushKit tokens are APNs')");
        checkToken("apns", body.voipToken, "voipToken");
      }
      const voip = body.pushProvider === "apns_voip";
      const meta = bus.meta({ ...caller, correlationId: request.id });
      const command: RegisterDevice = {
        meta,
        userId: caller.userId,
        deviceId: body.deviceId ?? randomUUID(),
        platform: body.platform,
        pushChannel: service,
        pushToken: voip ? null : body.pushToken,
        voipToken: voip ? body.pushToken : (body.voipToken ?? null),
        name: body.name ?? null,
        model: body.model ?? null,
        osVersion: body.osVersion ?? null,
        appVersion: body.appVersion ?? null,
        locale: body.locale ?? null,
      };
      const result = await bus.request("devices", "RegisterDevice", caller.userId, command);
      const outcome = outcomePayload(result);
      // A device first registered by this very command carries its instant.
      const created = (result.device as Device | null)?.registeredAt === meta.issuedAt;
      return reply.code(created ? 201 : 200).send(outcome);
    },
  );

  app.get(
    "/api/devices",
    {
      schema: {
        tags: ["devices"],
        security: bearerAuth,
        response: { 200: { description: "The caller's devices, in registration order", type: "object", required: ["devices"], properties: { devices: { type: "array", items: deviceSchema } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      return { devices: (await devices.devicesOf(caller.userId)).map(devicePayload) };
    },
  );

  app.put<DeviceParams & { Body: { pushToken: string; voipToken?: string } }>(
    "/api/devices/:device_id/token",
    {
      schema: {
        tags: ["devices"],
        security: bearerAuth,
        params: deviceParams,
        body: {
          type: "object",
          required: ["pushToken"],
          additionalProperties: false,
          properties: { pushToken: { ...token, description: "the new token of alerts, of the device's push service" }, voipToken: { ...token, description: "a new PushKit VoIP token (APNs devices); kept when absent" } },
        },
        response: { 200: { ...outcomeSchema, description: "The device with its tokens" }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { pushToken, voipToken } = request.body;
      // The service is the device's: the processor checks the tokens' shape against it (400).
      const command: UpdateDeviceToken = { meta: bus.meta({ ...caller, correlationId: request.id }), userId: caller.userId, deviceId: request.params.device_id, pushToken, voipToken: voipToken ?? null };
      return outcomePayload(await bus.request("devices", "UpdateDeviceToken", caller.userId, command));
    },
  );

  app.delete<DeviceParams>(
    "/api/devices/:device_id",
    { schema: { tags: ["devices"], security: bearerAuth, params: deviceParams, response: { 204: { description: "Unregistered: it gets no more pushes", type: "null" }, ...errorResponses } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const command: UnregisterDevice = { meta: bus.meta({ ...caller, correlationId: request.id }), userId: caller.userId, deviceId: request.params.device_id, reason: "user_request", failedToken: null };
      await bus.request("devices", "UnregisterDevice", caller.userId, command);
      return reply.code(204).send();
    },
  );

  app.post<DeviceParams>(
    "/api/devices/:device_id/heartbeat",
    { schema: { tags: ["devices"], security: bearerAuth, params: deviceParams, response: { 200: { ...outcomeSchema, description: "Seen now: its lastSeenAt" }, ...errorResponses } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const command: DeviceHeartbeat = { meta: bus.meta({ ...caller, correlationId: request.id }), userId: caller.userId, deviceId: request.params.device_id };
      return outcomePayload(await bus.request("devices", "DeviceHeartbeat", caller.userId, command));
    },
  );
};
