import type { ChannelSettings, ChannelType } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";

/** The name the channels read model's checkpoints are stored under. */
export const CHANNELS_PROJECTION = "channels";

/** A publication as history keeps it and clients receive it. */
export interface Publication {
  readonly channelId: string;
  /** 1, 2, 3 … per channel, without gaps. */
  readonly seq: number;
  /** JSON text, as published. */
  readonly data: string;
  /** The publishing user; null for a backend. */
  readonly publisherId: string | null;
  /** Epoch milliseconds. */
  readonly publishedAt: number;
  /** Epoch milliseconds when it leaves history; null when the channel keeps none. */
  readonly expiresAt: number | null;
}

/**
 * One change to the channels read model, derived from one event, which is also what gateways are
 * told after the commit (as JSON on {@link channelDeltaChannel}).
 */
export type ChannelChange =
  | {
      readonly kind: "created";
      readonly channelId: string;
      readonly workspaceId: string;
      readonly name: string;
      readonly channelType: ChannelType;
      readonly ownerId: string | null;
      readonly settings: ChannelSettings;
      readonly createdAt: number;
    }
  | { readonly kind: "deleted"; readonly channelId: string }
  | { readonly kind: "settings_updated"; readonly channelId: string; readonly settings: ChannelSettings }
  | { readonly kind: "subscribed" | "unsubscribed"; readonly channelId: string; readonly userId: string }
  | { readonly kind: "published"; readonly channelId: string; readonly seq: number; readonly publication: Publication }
  | { readonly kind: "history_removed"; readonly channelId: string; readonly upToSeq: number };

/** The change one record stands for (pure); none for a record of another context. */
export function channelChanges(record: Pick<ConsumedRecord, "fullName" | "value">): ChannelChange[] {
  const event = eventOf(record, "channels");
  switch (event?.type) {
    case "ChannelCreated": {
      const { channelId, name, channelType, ownerId, settings, meta } = event.data;
      return [{ kind: "created", channelId, workspaceId: meta.workspaceId, name, channelType, ownerId, settings, createdAt: meta.occurredAt }];
    }
    case "ChannelDeleted":
      return [{ kind: "deleted", channelId: event.data.channelId }];
    case "ChannelSettingsUpdated":
      return [{ kind: "settings_updated", channelId: event.data.channelId, settings: event.data.settings }];
    case "UserSubscribed":
    case "UserUnsubscribed":
      return [{ kind: event.type === "UserSubscribed" ? "subscribed" : "unsubscribed", channelId: event.data.channelId, userId: event.data.userId }];
    case "ChannelPublished": {
      const { channelId, seq, data, publisherId, expiresAt, meta } = event.data;
      return [{ kind: "published", channelId, seq, publication: { channelId, seq, data, publisherId, publishedAt: meta.occurredAt, expiresAt } }];
    }
    case "ChannelHistoryRemoved":
      return [{ kind: "history_removed", channelId: event.data.channelId, upToSeq: event.data.upToSeq }];
    default:
      return [];
  }
}

/** The Redis pub/sub channel of one channel's changes. */
export const channelDeltaChannel = (prefix: string, channelId: string): string => `${prefix}channel:{${channelId}}:deltas`;
