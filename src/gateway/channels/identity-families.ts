import type { ChannelFamily } from "./channel.js";
import { listenOnly, refuse } from "./replies.js";

/** `user:{userId}`: the user's own channel (calls, notifications, presence of their devices). */
export const userFamily: ChannelFamily = {
  prefix: "user:",
  join: (topic, _params, identity) =>
    Promise.resolve(
      topic.slice("user:".length) === identity.userId
        ? { status: "ok", response: {}, channel: listenOnly() }
        : refuse("unauthorized"),
    ),
};

/** `presence:{workspaceId}`: the online users of the caller's own workspace. */
export const presenceFamily: ChannelFamily = {
  prefix: "presence:",
  join: (topic, _params, identity) =>
    Promise.resolve(
      topic.slice("presence:".length) === identity.workspaceId
        ? { status: "ok", response: {}, channel: listenOnly() }
        : refuse("unauthorized"),
    ),
};

/** `webrtc:lobby`: every authenticated user, for call signaling addressed to them. */
export const webrtcLobbyFamily: ChannelFamily = {
  prefix: "webrtc:lobby",
  join: () => Promise.resolve({ status: "ok", response: {}, channel: listenOnly() }),
};

/** Who takes part in a call or a huddle. */
export interface ParticipantDirectory {
  isParticipant(kind: "call" | "huddle", id: string, userId: string, workspaceId: string): Promise<boolean>;
}

/** `call:{callId}` and `huddle:{huddleId}`: participants only. */
export function participantFamily(kind: "call" | "huddle", directory: ParticipantDirectory): ChannelFamily {
  const prefix = `${kind}:`;
  return {
    prefix,
    async join(topic, _params, identity) {
      const id = topic.slice(prefix.length);
      if (id === "") return refuse("invalid_topic");
      return (await directory.isParticipant(kind, id, identity.userId, identity.workspaceId))
        ? { status: "ok", response: {}, channel: listenOnly() }
        : refuse("unauthorized");
    },
  };
}
