import type {
  CommandMeta,
  ChannelSettings,
  ChannelType,
  CreateChannel,
  DeleteChannel,
  PublishToChannel,
  RemoveChannelHistory,
  SubscribeUser,
  UnsubscribeUser,
  UpdateChannelSettings,
} from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { clientMayPublish } from "./access.js";
import type { ChannelCommand } from "./commands.js";
import type { ChannelEvent, DecidedChannelEvent } from "./events.js";
import { evolve, initialState, isSubscriber, type ActiveChannel, type ChannelState } from "./state.js";

/** Limits of what a channel command may carry. */
export const CHANNEL_LIMITS = {
  nameLength: 200,
  /** Bytes of a publication's JSON text, counted as UTF-16 code units (the gateway counts bytes too). */
  dataLength: 65_536,
  subscribersAtCreation: 1_000,
  historyTtlSeconds: 30 * 24 * 3600,
} as const;

/**
 * The channel aggregate (key: channelId). Everywhere: a channel that does not exist or lives in
 * another workspace than the command's is `not_found`.
 *
 * - create: a name of 1–200 characters; a USER channel names its user (`ownerId`) and has no
 *   subscribers; `historyTtlSeconds` 1–30 days when history is on; `maxSubscribers` ≥ 0 (0: no
 *   limit). A PRESENCE channel always has presence on. Creating an existing channel is
 *   `conflict`. The initial subscribers follow as `UserSubscribed` events, each once.
 * - delete: `ChannelDeleted`; the id may be created again, its seqs continue.
 * - subscribe / unsubscribe: server-side; a repeat is a no-op. A USER channel has no
 *   subscribers (`invalid`).
 * - publish: `ChannelPublished` with `seq = lastSeq + 1` (no gaps) and, with history on, the
 *   time it leaves history. From a backend (`fromServer`) on any type; from a client only where
 *   `clientMayPublish` allows: not on USER and SYSTEM channels (`forbidden`), only by
 *   subscribers elsewhere (`not_a_member`).
 * - remove history: `ChannelHistoryRemoved` up to the last seq; nothing to remove is a no-op.
 * - update settings: `ChannelSettingsUpdated` with the new settings (checked as at creation;
 *   PRESENCE keeps presence on); the same settings again is a no-op. They apply to joins and
 *   publications from then on.
 */
export const channelDecider: Decider<ChannelCommand, ChannelEvent, ChannelState> = { initialState, evolve, decide };

export function decide(command: ChannelCommand, state: ChannelState): DecidedChannelEvent[] {
  switch (command.type) {
    case "CreateChannel":
      return create(command.data, state);
    case "DeleteChannel":
      return remove(command.data, state);
    case "SubscribeUser":
      return subscribe(command.data, state);
    case "UnsubscribeUser":
      return unsubscribe(command.data, state);
    case "PublishToChannel":
      return publish(command.data, state);
    case "RemoveChannelHistory":
      return removeHistory(command.data, state);
    case "UpdateChannelSettings":
      return updateSettings(command.data, state);
    default:
      return unreachable(command);
  }
}

/** Checks a channel's creation whatever the state (the gateway runs it before sending; the processor again). */
export function validateCreation(command: Omit<CreateChannel, "meta">): void {
  const { name, channelType, ownerId, settings, subscriberIds } = command;
  if (command.channelId === "") throw new DomainError("invalid", "a channel needs an id");
  if (name.trim() === "" || name.length > CHANNEL_LIMITS.nameLength) throw new DomainError("invalid", `name must be 1–${CHANNEL_LIMITS.nameLength} characters`);
  if (channelType === "USER" && (ownerId === null || ownerId === "")) throw new DomainError("invalid", "a USER channel names its user (owner_id)");
  if (channelType === "USER" && subscriberIds.length > 0) throw new DomainError("invalid", "a USER channel has no subscribers: its user receives it");
  if (subscriberIds.length > CHANNEL_LIMITS.subscribersAtCreation) throw new DomainError("invalid", `at most ${CHANNEL_LIMITS.subscribersAtCreation} subscribers at creation`);
  validateSettings(settings);
}

/** Checks settings whatever the channel: `maxSubscribers` ≥ 0, a history lifetime of 1 s to 30 days when history is on. */
export function validateSettings(settings: ChannelSettings): void {
  if (!Number.isInteger(settings.maxSubscribers) || settings.maxSubscribers < 0) throw new DomainError("invalid", "maxSubscribers must be 0 (no limit) or more");
  if (settings.historyEnabled && (settings.historyTtlSeconds < 1 || settings.historyTtlSeconds > CHANNEL_LIMITS.historyTtlSeconds)) {
    throw new DomainError("invalid", `historyTtlSeconds must be 1–${CHANNEL_LIMITS.historyTtlSeconds} when history is enabled`);
  }
}

/** The settings a channel of `channelType` ends up with: a PRESENCE channel always has presence on. */
export function settingsOf(channelType: ChannelType, settings: ChannelSettings): ChannelSettings {
  return channelType === "PRESENCE" ? { ...settings, presenceEnabled: true } : settings;
}

function create(command: CreateChannel, state: ChannelState): DecidedChannelEvent[] {
  validateCreation(command);
  if (state.status === "active") throw new DomainError("conflict", "the channel exists");
  const { channelId, name, channelType, ownerId } = command;
  const settings = settingsOf(channelType, command.settings);
  return [
    { type: "ChannelCreated", data: { channelId, name, channelType, ownerId, settings } },
    ...[...new Set(command.subscriberIds)].map((userId): DecidedChannelEvent => ({ type: "UserSubscribed", data: { channelId, userId } })),
  ];
}

function existing(meta: CommandMeta, state: ChannelState): ActiveChannel {
  if (state.status !== "active" || state.workspaceId !== meta.workspaceId) throw new DomainError("not_found", "no such channel");
  return state;
}

function remove(command: DeleteChannel, state: ChannelState): DecidedChannelEvent[] {
  existing(command.meta, state);
  return [{ type: "ChannelDeleted", data: { channelId: command.channelId } }];
}

function subscribe(command: SubscribeUser, state: ChannelState): DecidedChannelEvent[] {
  const channel = existing(command.meta, state);
  if (channel.channelType === "USER") throw new DomainError("invalid", "a USER channel has no subscribers: its user receives it");
  if (command.userId === "") throw new DomainError("invalid", "a subscriber needs a user id");
  if (isSubscriber(channel, command.userId)) return [];
  return [{ type: "UserSubscribed", data: { channelId: command.channelId, userId: command.userId } }];
}

function unsubscribe(command: UnsubscribeUser, state: ChannelState): DecidedChannelEvent[] {
  const channel = existing(command.meta, state);
  if (!isSubscriber(channel, command.userId)) return [];
  return [{ type: "UserUnsubscribed", data: { channelId: command.channelId, userId: command.userId } }];
}

function publish(command: PublishToChannel, state: ChannelState): DecidedChannelEvent[] {
  const channel = existing(command.meta, state);
  const { meta } = command;
  if (command.data === "" || command.data.length > CHANNEL_LIMITS.dataLength) throw new DomainError("invalid", `data must be 1–${CHANNEL_LIMITS.dataLength} characters of JSON`);
  if (!command.fromServer) {
    const question = {
      channelType: channel.channelType,
      ownerId: channel.ownerId,
      workspaceId: channel.workspaceId,
      userId: meta.actorId,
      userWorkspaceId: meta.workspaceId,
      subscribed: isSubscriber(channel, meta.actorId),
    };
    if (channel.channelType === "USER" || channel.channelType === "SYSTEM") throw new DomainError("forbidden", `only backends publish on ${channel.channelType} channels`);
    if (!clientMayPublish(question)) throw new DomainError("not_a_member", "only subscribers publish on this channel");
  }
  const { historyEnabled, historyTtlSeconds } = channel.settings;
  return [
    {
      type: "ChannelPublished",
      data: {
        channelId: command.channelId,
        seq: channel.lastSeq + 1,
        data: command.data,
        publisherId: command.fromServer ? null : meta.actorId,
        expiresAt: historyEnabled ? meta.issuedAt + historyTtlSeconds * 1000 : null,
      },
    },
  ];
}

function updateSettings(command: UpdateChannelSettings, state: ChannelState): DecidedChannelEvent[] {
  const channel = existing(command.meta, state);
  validateSettings(command.settings);
  const settings = settingsOf(channel.channelType, command.settings);
  if (JSON.stringify(settings) === JSON.stringify(channel.settings)) return [];
  return [{ type: "ChannelSettingsUpdated", data: { channelId: command.channelId, settings } }];
}

function removeHistory(command: RemoveChannelHistory, state: ChannelState): DecidedChannelEvent[] {
  const channel = existing(command.meta, state);
  if (channel.removedUpTo >= channel.lastSeq) return [];
  return [{ type: "ChannelHistoryRemoved", data: { channelId: command.channelId, upToSeq: channel.lastSeq } }];
}
