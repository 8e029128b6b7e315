import type { TopicViewers } from "../../comments/ports.js";
import type { ConversationViewers } from "../../conversations/channels/conversation-family.js";
import type { Logger } from "../../../infra/log/logger.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import { validateTopic } from "../domain/decide.js";
import type { ViewedTopic } from "../projections/presence/presence-fold.js";
import type { PresenceTracker } from "../presence-tracker.js";
import type { PresenceRooms } from "./presence-rooms.js";

/**
 * The viewers of topics on this gateway: a socket that views a topic is a `JoinTopic` of its
 * connection (in order with its connect and close, through the tracker) and a member of the
 * room of that topic in its workspace, which pushes the viewers' presence_state and diffs.
 * A topic the processor would refuse is refused here first.
 */
export function topicViewers(rooms: PresenceRooms<ViewedTopic>, tracker: Pick<PresenceTracker, "joinTopic" | "leaveTopic">): TopicViewers {
  return {
    async view(identity, topic, outlet) {
      try {
        validateTopic(topic);
      } catch (error) {
        if (error instanceof DomainError) throw new ServiceError(error.code, error.message);
        throw error;
      }
      tracker.joinTopic(identity, topic);
      let leaveRoom: () => void;
      try {
        leaveRoom = await rooms.enter({ workspaceId: identity.workspaceId, topic }, outlet);
      } catch (error) {
        tracker.leaveTopic(identity, topic);
        throw error;
      }
      return () => {
        tracker.leaveTopic(identity, topic);
        leaveRoom();
      };
    },
  };
}

/**
 * The sockets viewing conversation topics (`chat:{id}`, `conversation:{id}`): a `JoinTopic` of the
 * socket's connection, without a room (nobody is shown them; the notification policy reads them
 * from the read model). A socket viewing 100 topics already is not counted (logged).
 */
export function conversationViewers(tracker: Pick<PresenceTracker, "joinTopic" | "leaveTopic">, logger: Logger): ConversationViewers {
  return {
    view(identity, topic) {
      try {
        tracker.joinTopic(identity, topic);
      } catch (error) {
        logger.warn({ err: error, topic, connectionId: identity.connectionId }, "a conversation topic not recorded as viewed");
        return () => undefined;
      }
      return () => tracker.leaveTopic(identity, topic);
    },
  };
}
