import type { ChannelFamily, ChannelOutlet, JoinedChannel, SocketIdentity } from "./channel.js";
import { listenOnly, refuse } from "./channel-replies.js";

/** What a joined channel does once its join is authorized; absent, the channel only listens. */
export type OpenChannel = (identity: SocketIdentity, outlet: ChannelOutlet) => Promise<JoinedChannel>;

/** A family whose only joinable topic is `prefix` followed by the caller's own id of some kind. */
function ownTopicFamily(prefix: string, ownId: (identity: SocketIdentity) => string, open?: OpenChannel): ChannelFamily {
  return {
    prefix,
    async join(topic, _params, identity, outlet) {
      if (topic.slice(prefix.length) !== ownId(identity)) return refuse("unauthorized");
      return { status: "ok", response: {}, channel: open === undefined ? listenOnly() : await open(identity, outlet) };
    },
  };
}

/** `user:{userId}`: the user's own channel (calls, notifications, presence of their devices). */
export const userFamily = (open?: OpenChannel): ChannelFamily => ownTopicFamily("user:", (identity) => identity.userId, open);

/** `presence:{workspaceId}`: the online users of the caller's own workspace. */
export const presenceFamily = (open?: OpenChannel): ChannelFamily => ownTopicFamily("presence:", (identity) => identity.workspaceId, open);

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
