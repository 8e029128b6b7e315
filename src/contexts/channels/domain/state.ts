import type { ChannelSettings, ChannelType } from "../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../platform/domain/decider.js";
import type { ChannelEvent } from "./events.js";

/** A channel id nothing happened to yet, or one that was deleted (its seqs continue if it is created again). */
export interface AbsentChannel {
  readonly status: "absent";
  readonly lastSeq: number;
}

/** A channel that exists. */
export interface ActiveChannel {
  readonly status: "active";
  readonly workspaceId: string;
  readonly name: string;
  readonly channelType: ChannelType;
  readonly ownerId: string | null;
  readonly settings: ChannelSettings;
  /** Subscribed user ids (a set as a record, so that it survives the changelog's JSON round trip). */
  readonly subscribers: Readonly<Record<string, true>>;
  /** The seq of the last publication; 0 before the first. */
  readonly lastSeq: number;
  /** History up to this seq was dropped. */
  readonly removedUpTo: number;
}

export type ChannelState = AbsentChannel | ActiveChannel;

export function initialState(): ChannelState {
  return { status: "absent", lastSeq: 0 };
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: ChannelState, event: ChannelEvent): ChannelState {
  switch (event.type) {
    case "ChannelCreated": {
      const { data } = event;
      return {
        status: "active",
        workspaceId: data.meta.workspaceId,
        name: data.name,
        channelType: data.channelType,
        ownerId: data.ownerId,
        settings: data.settings,
        subscribers: {},
        lastSeq: state.lastSeq,
        removedUpTo: state.lastSeq,
      };
    }
    case "ChannelDeleted":
      return { status: "absent", lastSeq: state.lastSeq };
    case "UserSubscribed":
      if (state.status !== "active") return state;
      return { ...state, subscribers: { ...state.subscribers, [event.data.userId]: true } };
    case "UserUnsubscribed": {
      if (state.status !== "active" || !Object.hasOwn(state.subscribers, event.data.userId)) return state;
      const { [event.data.userId]: _gone, ...subscribers } = state.subscribers;
      return { ...state, subscribers };
    }
    case "ChannelPublished":
      if (state.status !== "active") return state;
      return { ...state, lastSeq: Math.max(state.lastSeq, event.data.seq) };
    case "ChannelSettingsUpdated":
      if (state.status !== "active") return state;
      return { ...state, settings: event.data.settings };
    case "ChannelHistoryRemoved":
      if (state.status !== "active") return state;
      return { ...state, removedUpTo: Math.max(state.removedUpTo, event.data.upToSeq) };
    default:
      return unreachable(event);
  }
}

/** Whether `userId` is subscribed to the channel. */
export function isSubscriber(state: ActiveChannel, userId: string): boolean {
  return Object.hasOwn(state.subscribers, userId);
}
