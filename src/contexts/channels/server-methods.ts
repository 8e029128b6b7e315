import { randomUUID } from "node:crypto";
import type { ChannelSettings, CommandMeta, CreateChannel, PublishToChannel } from "../../platform/contract/generated/avro-types.js";
import { DomainError } from "../../platform/domain/domain-error.js";
import type { CommandBus } from "../../platform/gateway/command-bus.js";
import { serverError } from "../../platform/gateway/server-api/server-api-routes.js";
import { SERVER_ACTOR, type ServerMethod } from "../../platform/gateway/server-api/server-method.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import { sleep } from "../../platform/sleep.js";
import type { PresenceEntries } from "../presence/projections/presence/presence-model.js";
import { audienceOf } from "./channels/channel-family.js";
import { publicationData } from "./channels/publication-data.js";
import { settingsOf, validateCreation, validateSettings } from "./domain/decide.js";
import type { ChannelView, MysqlChannelStore } from "./projections/channels/mysql-channel-store.js";
import type { ConversationPublisher, WorkspacePresence } from "./ports.js";

/** How long a write waits for the read model to show it, so that a join or read right after sees it. */
const READ_YOUR_WRITES_MS = 5_000;

const channelId = { type: "string", minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9._@-]+$" } as const;
const userId = { type: "string", minLength: 1, maxLength: 128 } as const;
const channelRef = { type: "object", required: ["channel"], additionalProperties: false, properties: { channel: channelId } } as const;
const empty = { type: "object", properties: {} } as const;
const settingsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    history_enabled: { type: "boolean", default: false },
    history_ttl_seconds: { type: "integer", minimum: 1, default: 86_400 },
    presence_enabled: { type: "boolean", default: false },
    push_notifications_enabled: { type: "boolean", default: false },
    max_subscribers: { type: "integer", minimum: 0, default: 0 },
  },
} as const;
const channelSchema = {
  type: "object",
  properties: {
    channel: { type: "string" },
    workspace_id: { type: "string" },
    name: { type: "string" },
    type: { type: "string", enum: ["USER", "TEAM", "SYSTEM", "PRESENCE", "PRIVATE"] },
    owner_id: { type: "string", nullable: true },
    settings: settingsSchema,
    created_at: { type: "integer" },
    num_subscribers: { type: "integer" },
  },
} as const;
/** A channel id, or `chat:{id}` / `conversation:{id}` for a system message into a conversation. */
const publishTarget = { type: "string", minLength: 1, maxLength: 160, pattern: "^((chat|conversation):[A-Za-z0-9._:@-]+|[A-Za-z0-9._@-]+)$" } as const;
const publishParams = {
  type: "object",
  required: ["channel", "data"],
  additionalProperties: false,
  properties: {
    channel: publishTarget,
    data: { description: "Any JSON value but null" },
    idempotency_key: { type: "string", minLength: 1, maxLength: 128, description: "A retry with the same key within 24 hours (the processor's dedupe window of 500 commands per channel) publishes once" },
  },
} as const;
const publishResult = { type: "object", properties: { offset: { type: "integer", description: "The publication's seq" }, epoch: { type: "string" } } } as const;
const errorObject = { type: "object", properties: { code: { type: "integer" }, reason: { type: "string" }, message: { type: "string" } } } as const;
const outcomes = { type: "array", items: { type: "object", properties: { result: publishResult, error: errorObject } } } as const;

export interface ChannelServerMethodsDeps {
  readonly bus: CommandBus;
  readonly store: Pick<MysqlChannelStore, "channel" | "isSubscribed" | "subscribersOf" | "list" | "publicationsOf" | "lastSeq">;
  readonly presence: () => WorkspacePresence | undefined;
  readonly conversations: () => ConversationPublisher | undefined;
}

/**
 * The channels' methods of the server API. Every write is a command decided by the channel
 * processor, awaited through the command bus; a create, delete, subscribe or unsubscribe answers
 * once the read model shows it (within 5 s), so a client may join right after. Every read comes
 * from the read model (the channels store in MySQL, presence from the presence context). A
 * channel is addressed by its id alone: its workspace is the one it was created in. `publish`
 * (and `publish_batch`, `broadcast`) to `chat:{id}` or `conversation:{id}` sends a system
 * message into that conversation through the conversations context.
 */
export function channelServerMethods(deps: ChannelServerMethodsDeps): ServerMethod[] {
  const { bus, store } = deps;
  const meta = (workspaceId: string, commandId?: string): CommandMeta => bus.meta({ userId: SERVER_ACTOR, workspaceId }, commandId);
  const existing = async (id: string): Promise<ChannelView> => {
    const view = await store.channel(id);
    if (view === undefined) throw new ServiceError("not_found", "no such channel");
    return view;
  };
  // A refusal of the processor arrives as a ServiceError with its code.
  const decided = <C extends { meta: CommandMeta }>(type: string, id: string, command: C) => bus.request("channels", type, id, command);
  const publish = async (params: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const id = String(params.channel);
    const conversation = /^(?:chat|conversation):(.+)$/.exec(id)?.[1];
    if (conversation !== undefined) {
      const publisher = deps.conversations();
      if (publisher === undefined) throw new ServiceError("not_available", "conversations are not served here");
      return { ...(await publisher.publish(conversation, params.data, typeof params.idempotency_key === "string" ? params.idempotency_key : undefined)) };
    }
    const data = publicationData(params.data);
    const view = await existing(id);
    const key = params.idempotency_key;
    const command: PublishToChannel = { meta: meta(view.workspaceId, typeof key === "string" ? `publish:${id}:${key}` : undefined), channelId: id, data, fromServer: true };
    const { seq } = await decided("PublishToChannel", id, command);
    return { offset: seq, epoch: epochOf(view) };
  };
  const outcomesOf = async (calls: readonly Record<string, unknown>[]) => {
    const responses: Record<string, unknown>[] = [];
    for (const call of calls) {
      try {
        responses.push({ result: await publish(call) });
      } catch (error) {
        const refusal = error instanceof ServiceError ? error : new ServiceError("internal", "internal error", { cause: error });
        if (refusal.code === "internal") throw error;
        responses.push({ error: serverError(refusal.code, refusal.publicMessage) });
      }
    }
    return responses;
  };
  const subscription = (name: "subscribe" | "unsubscribe", grpc: string, description: string): ServerMethod => ({
    name,
    grpc,
    description,
    params: { type: "object", required: ["channel", "user"], additionalProperties: false, properties: { channel: channelId, user: userId } },
    result: empty,
    async call(params) {
      const id = String(params.channel);
      const user = String(params.user);
      const view = await existing(id);
      const subscribing = name === "subscribe";
      await decided(subscribing ? "SubscribeUser" : "UnsubscribeUser", id, { meta: meta(view.workspaceId), channelId: id, userId: user });
      await shown(async () => ((await store.isSubscribed(id, user)) === subscribing ? true : undefined));
      return {};
    },
  });
  const presenceOf = async (id: string): Promise<PresenceEntries> => {
    const view = await existing(id);
    const presence = deps.presence();
    if (!view.settings.presenceEnabled || presence === undefined) throw new ServiceError("not_available", "presence is not enabled on this channel");
    const audience = await audienceOf(view, store);
    const state = await presence.workspaceState(view.workspaceId);
    return audience === undefined ? state : Object.fromEntries(Object.entries(state).filter(([user]) => audience.has(user)));
  };

  return [
    {
      name: "create_channel",
      grpc: "CreateChannel",
      description: "Create a channel (id generated when `channel` is absent); answers the channel",
      params: {
        type: "object",
        required: ["workspace_id", "name", "type"],
        additionalProperties: false,
        properties: {
          channel: channelId,
          workspace_id: userId,
          name: { type: "string", minLength: 1, maxLength: 200 },
          type: { type: "string", enum: ["USER", "TEAM", "SYSTEM", "PRESENCE", "PRIVATE"] },
          owner_id: userId,
          settings: settingsSchema,
          subscribers: { type: "array", maxItems: 1000, items: userId },
        },
      },
      result: channelSchema,
      async call(params) {
        const id = typeof params.channel === "string" ? params.channel : randomUUID();
        const workspaceId = String(params.workspace_id);
        const command: CreateChannel = {
          meta: meta(workspaceId),
          channelId: id,
          name: String(params.name),
          channelType: params.type as CreateChannel["channelType"],
          ownerId: typeof params.owner_id === "string" ? params.owner_id : null,
          settings: settingsFrom(params.settings),
          subscriberIds: Array.isArray(params.subscribers) ? params.subscribers.map(String) : [],
        };
        beforeSending(() => validateCreation(command));
        await decided("CreateChannel", id, command);
        const view = await shown(() => store.channel(id));
        return view === undefined ? { channel: id, workspace_id: workspaceId } : channelOf(view);
      },
    },
    {
      name: "delete_channel",
      grpc: "DeleteChannel",
      description: "Delete a channel: its joined clients get phx_close, its history goes",
      params: channelRef,
      result: empty,
      async call(params) {
        const id = String(params.channel);
        const view = await existing(id);
        await decided("DeleteChannel", id, { meta: meta(view.workspaceId), channelId: id });
        await shown(async () => ((await store.channel(id)) === undefined ? true : undefined));
        return {};
      },
    },
    {
      name: "update_channel",
      description: "Change a channel's settings (the ones given; the others stay); answers the channel. They apply to joins and publications from then on",
      params: { type: "object", required: ["channel", "settings"], additionalProperties: false, properties: { channel: channelId, settings: settingsSchema } },
      result: channelSchema,
      async call(params) {
        const id = String(params.channel);
        const view = await existing(id);
        const settings = settingsFrom({ ...channelOf(view).settings as Record<string, unknown>, ...(params.settings as Record<string, unknown>) });
        beforeSending(() => validateSettings(settings));
        await decided("UpdateChannelSettings", id, { meta: meta(view.workspaceId), channelId: id, settings });
        const expected = settingsOf(view.channelType, settings);
        const updated = await shown(async () => {
          const current = await store.channel(id);
          const same = current !== undefined && (Object.keys(expected) as (keyof ChannelSettings)[]).every((key) => current.settings[key] === expected[key]);
          return same ? current : undefined;
        });
        return channelOf(updated ?? view);
      },
    },
    {
      name: "list_channels",
      grpc: "ListChannels",
      description: "A page of a workspace's channels, in id order",
      params: {
        type: "object",
        required: ["workspace_id"],
        additionalProperties: false,
        properties: { workspace_id: userId, limit: { type: "integer", minimum: 1, maximum: 100, default: 50 }, cursor: { type: "string", maxLength: 128 } },
      },
      result: { type: "object", properties: { channels: { type: "array", items: channelSchema }, next_cursor: { type: "string", description: "Empty on the last page" } } },
      async call(params) {
        const limit = Number(params.limit ?? 50);
        const page = await store.list(String(params.workspace_id), { limit: limit + 1, ...(typeof params.cursor === "string" && params.cursor !== "" ? { afterId: params.cursor } : {}) });
        const channels = page.slice(0, limit);
        return { channels: channels.map(channelOf), next_cursor: page.length > limit ? channels.at(-1)!.id : "" };
      },
    },
    {
      name: "publish",
      grpc: "Publish",
      description: "Publish into a channel; answers its seq as `offset`",
      params: publishParams,
      result: publishResult,
      call: publish,
      fromGrpc: jsonData,
    },
    {
      name: "publish_batch",
      grpc: "PublishBatch",
      description: "Several publications, in order; each answered as `publish` answers it",
      params: { type: "object", required: ["publications"], additionalProperties: false, properties: { publications: { type: "array", minItems: 1, maxItems: 100, items: publishParams } } },
      result: { type: "object", properties: { responses: outcomes } },
      call: async (params) => ({ responses: await outcomesOf(params.publications as Record<string, unknown>[]) }),
      fromGrpc: (request) => ({ publications: ((request.publications ?? []) as Record<string, unknown>[]).map(jsonData) }),
      toGrpc: (result) => result,
    },
    {
      name: "broadcast",
      description: "One publication into many channels; one answer per channel, in order",
      params: {
        type: "object",
        required: ["channels", "data"],
        additionalProperties: false,
        properties: { channels: { type: "array", minItems: 1, maxItems: 1000, items: publishTarget }, data: publishParams.properties.data, idempotency_key: publishParams.properties.idempotency_key },
      },
      result: { type: "object", properties: { responses: outcomes } },
      call: async (params) => ({
        responses: await outcomesOf((params.channels as string[]).map((channel) => ({ channel, data: params.data, ...(params.idempotency_key === undefined ? {} : { idempotency_key: params.idempotency_key }) }))),
      }),
    },
    subscription("subscribe", "Subscribe", "Subscribe a user to a channel (TEAM, PRESENCE, PRIVATE: who may join and publish)"),
    subscription("unsubscribe", "Unsubscribe", "Unsubscribe a user from a channel: their joined clients get phx_close"),
    {
      name: "presence",
      grpc: "GetPresence",
      description: "The connections of the channel's users that are online (channels with presence on)",
      params: channelRef,
      result: {
        type: "object",
        properties: {
          presence: {
            type: "object",
            additionalProperties: { type: "object", properties: { client: { type: "string" }, user: { type: "string" }, platform: { type: "string" }, status: { type: "string" }, online_at: { type: "integer" } } },
          },
        },
      },
      async call(params) {
        const entries = await presenceOf(String(params.channel));
        const presence: Record<string, unknown> = {};
        for (const [user, { metas }] of Object.entries(entries)) {
          for (const meta of metas) presence[meta.connection_id] = { client: meta.connection_id, user, platform: meta.platform, status: meta.status, online_at: meta.online_at };
        }
        return { presence };
      },
    },
    {
      name: "presence_stats",
      grpc: "GetPresenceStats",
      description: "How many connections and users of the channel are online (channels with presence on)",
      params: channelRef,
      result: { type: "object", properties: { num_clients: { type: "integer" }, num_users: { type: "integer" } } },
      async call(params) {
        const entries = Object.values(await presenceOf(String(params.channel)));
        return { num_clients: entries.reduce((sum, { metas }) => sum + metas.length, 0), num_users: entries.length };
      },
    },
    {
      name: "history",
      grpc: "GetHistory",
      description: "Publications still in the channel's history, ascending (newest first with `reverse`)",
      params: {
        type: "object",
        required: ["channel"],
        additionalProperties: false,
        properties: { channel: channelId, limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 }, since_offset: { type: "integer", minimum: 0 }, reverse: { type: "boolean", default: false } },
      },
      result: {
        type: "object",
        properties: {
          publications: { type: "array", items: { type: "object", properties: { offset: { type: "integer" }, data: {}, publisher_id: { type: "string", nullable: true }, published_at: { type: "integer" } } } },
          offset: { type: "integer", description: "The last seq in history" },
          epoch: { type: "string" },
        },
      },
      async call(params) {
        const id = String(params.channel);
        const view = await existing(id);
        if (!view.settings.historyEnabled) throw new ServiceError("not_available", "history is not enabled on this channel");
        const limit = Number(params.limit ?? 100);
        const range = typeof params.since_offset === "number" ? { afterSeq: params.since_offset, limit } : { limit, from: params.reverse === true ? ("newest" as const) : ("oldest" as const) };
        const publications = await store.publicationsOf(id, range);
        if (params.reverse === true) publications.reverse();
        return {
          publications: publications.map((publication) => ({ offset: publication.seq, data: JSON.parse(publication.data) as unknown, publisher_id: publication.publisherId, published_at: publication.publishedAt })),
          offset: await store.lastSeq(id),
          epoch: epochOf(view),
        };
      },
      toGrpc: (result) => ({ ...result, publications: (result.publications as Record<string, unknown>[]).map((publication) => ({ ...publication, data: JSON.stringify(publication.data), publisher_id: publication.publisher_id ?? "" })) }),
    },
    {
      name: "history_remove",
      grpc: "RemoveHistory",
      description: "Drop the channel's history; seqs continue",
      params: channelRef,
      result: empty,
      async call(params) {
        const id = String(params.channel);
        const view = await existing(id);
        await decided("RemoveChannelHistory", id, { meta: meta(view.workspaceId), channelId: id });
        return {};
      },
    },
  ];
}

/** Runs a rule of the domain before anything is sent: its refusal reaches the caller with its code. */
function beforeSending(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof DomainError) throw new ServiceError(error.code, error.message);
    throw error;
  }
}

/** The channel's epoch: its creation time, which changes when a deleted id is created again. */
function epochOf(view: ChannelView): string {
  return String(view.createdAt);
}

function settingsFrom(value: unknown): ChannelSettings {
  const given = (value ?? {}) as Record<string, unknown>;
  return {
    historyEnabled: given.history_enabled === true,
    historyTtlSeconds: typeof given.history_ttl_seconds === "number" ? given.history_ttl_seconds : 86_400,
    presenceEnabled: given.presence_enabled === true,
    pushNotificationsEnabled: given.push_notifications_enabled === true,
    maxSubscribers: typeof given.max_subscribers === "number" ? given.max_subscribers : 0,
  };
}

function channelOf(view: ChannelView): Record<string, unknown> {
  const { settings } = view;
  return {
    channel: view.id,
    workspace_id: view.workspaceId,
    name: view.name,
    type: view.channelType,
    owner_id: view.ownerId,
    settings: {
      history_enabled: settings.historyEnabled,
      history_ttl_seconds: settings.historyTtlSeconds,
      presence_enabled: settings.presenceEnabled,
      push_notifications_enabled: settings.pushNotificationsEnabled,
      max_subscribers: settings.maxSubscribers,
    },
    created_at: view.createdAt,
    num_subscribers: view.subscriberCount,
  };
}

/** gRPC carries `data` as JSON text. */
function jsonData(request: Record<string, unknown>): Record<string, unknown> {
  if (typeof request.data !== "string") return request;
  try {
    return { ...request, data: JSON.parse(request.data) as unknown };
  } catch {
    throw new ServiceError("invalid", "data must be JSON text");
  }
}

/** Polls `probe` until it answers, for at most READ_YOUR_WRITES_MS; undefined when it never did. */
async function shown<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const until = Date.now() + READ_YOUR_WRITES_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() >= until) return value;
    await sleep(25);
  }
}
